using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class FeatureOverrideConfiguration : IEntityTypeConfiguration<FeatureOverride>
{
    public void Configure(EntityTypeBuilder<FeatureOverride> builder)
    {
        builder.ToTable("feature_overrides");
        builder.HasKey(f => new { f.OrganizationId, f.FeatureKey });
        builder.Property(f => f.FeatureKey).HasMaxLength(60);
        builder.HasOne<Organization>().WithMany().HasForeignKey(f => f.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class LimitOverrideConfiguration : IEntityTypeConfiguration<LimitOverride>
{
    public void Configure(EntityTypeBuilder<LimitOverride> builder)
    {
        builder.ToTable("limit_overrides", t =>
        {
            t.HasCheckConstraint("ck_limit_overrides_seats", "seats IS NULL OR seats >= 0");
            t.HasCheckConstraint("ck_limit_overrides_ai_tokens", "ai_tokens_per_month IS NULL OR ai_tokens_per_month >= 0");
            t.HasCheckConstraint("ck_limit_overrides_api_requests", "api_requests_per10seconds IS NULL OR api_requests_per10seconds > 0");
            t.HasCheckConstraint("ck_limit_overrides_backup_retention", "backup_retention_days IS NULL OR backup_retention_days > 0");
        });
        builder.HasKey(l => l.OrganizationId);
        builder.HasOne<Organization>().WithMany().HasForeignKey(l => l.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class BillingSubscriptionConfiguration : IEntityTypeConfiguration<BillingSubscription>
{
    public void Configure(EntityTypeBuilder<BillingSubscription> builder)
    {
        builder.ToTable("subscriptions");
        builder.HasKey(s => s.OrganizationId);
        builder.HasOne<Organization>().WithMany().HasForeignKey(s => s.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(s => s.StripeCustomerId).HasMaxLength(255);
        builder.HasIndex(s => s.StripeCustomerId).IsUnique();
        builder.Property(s => s.StripeSubscriptionId).HasMaxLength(255);
        builder.HasIndex(s => s.StripeSubscriptionId).IsUnique();
        builder.Property(s => s.Status).HasMaxLength(30);
        builder.Property(s => s.PlanKey).HasMaxLength(40);
        builder.Property(s => s.RequestedPlanKey).HasMaxLength(40);
        builder.HasIndex(s => s.PastDueSince).HasFilter("past_due_since IS NOT NULL");
    }
}

internal sealed class WebhookEventConfiguration : IEntityTypeConfiguration<WebhookEvent>
{
    public void Configure(EntityTypeBuilder<WebhookEvent> builder)
    {
        builder.ToTable("webhook_events");
        builder.HasKey(e => new { e.Provider, e.EventId });
        builder.Property(e => e.Provider).HasMaxLength(20);
        builder.Property(e => e.EventId).HasMaxLength(255);
        builder.Property(e => e.Type).HasMaxLength(100);
        builder.HasIndex(e => e.OrganizationId);
    }
}

internal sealed class UsageEventConfiguration : IEntityTypeConfiguration<UsageEvent>
{
    public void Configure(EntityTypeBuilder<UsageEvent> builder)
    {
        builder.ToTable("usage_events", t => t.HasCheckConstraint("ck_usage_events_quantity", "quantity > 0"));
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Metric).HasMaxLength(40);
        builder.Property(e => e.IdempotencyKey).HasMaxLength(200);
        builder.HasIndex(e => new { e.OrganizationId, e.IdempotencyKey }).IsUnique();
        builder.HasIndex(e => e.RollupId);
        builder.HasIndex(e => e.SettleBy).HasFilter("settle_by IS NOT NULL").HasDatabaseName("ix_usage_events_unsettled");
        builder.HasOne<Organization>().WithMany().HasForeignKey(e => e.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<UsageRollup>().WithMany().HasForeignKey(e => e.RollupId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class UsageRollupConfiguration : IEntityTypeConfiguration<UsageRollup>
{
    public void Configure(EntityTypeBuilder<UsageRollup> builder)
    {
        builder.ToTable("usage_rollups", t => t.HasCheckConstraint("ck_usage_rollups_quantity", "quantity >= 0"));
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Metric).HasMaxLength(40);
        builder.HasIndex(r => new { r.OrganizationId, r.Metric, r.PeriodStart }).IsUnique();
        builder.HasIndex(r => r.PeriodEnd).HasFilter("reported_at IS NULL");
        builder.HasOne<Organization>().WithMany().HasForeignKey(r => r.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}
