using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal sealed class DomainEventConfiguration : IEntityTypeConfiguration<DomainEvent>
{
    public void Configure(EntityTypeBuilder<DomainEvent> builder)
    {
        builder.ToTable("domain_events");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).ValueGeneratedNever();
        builder.Property(e => e.Type).HasMaxLength(50);
        builder.Property(e => e.EntityType).HasMaxLength(50);
        builder.Property(e => e.Data).HasColumnType("jsonb");
        builder.Property(e => e.Depth).HasDefaultValue(0);
        builder.HasIndex(e => e.OccurredAt);
    }
}

internal sealed class DomainEventConsumptionConfiguration : IEntityTypeConfiguration<DomainEventConsumption>
{
    public void Configure(EntityTypeBuilder<DomainEventConsumption> builder)
    {
        builder.ToTable("domain_event_consumptions");
        builder.HasKey(c => new { c.Consumer, c.EventId });
        builder.Property(c => c.Consumer).HasMaxLength(50);
        builder.HasOne<DomainEvent>().WithMany().HasForeignKey(c => c.EventId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class WebhookEndpointConfiguration : IEntityTypeConfiguration<WebhookEndpoint>
{
    public void Configure(EntityTypeBuilder<WebhookEndpoint> builder)
    {
        builder.ToTable("webhook_endpoints");
        builder.ConfigureTenantEntity();
        builder.Property(e => e.Url).HasMaxLength(2000);
        builder.Property(e => e.ProtectedSecret).HasMaxLength(1000);
        builder.Property(e => e.Status).HasConversion(new LowercaseEnumConverter<WebhookEndpointStatus>()).HasMaxLength(20);
        builder.Property(e => e.DisabledReason).HasMaxLength(500);
    }
}

internal sealed class WebhookDeliveryConfiguration : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> builder)
    {
        builder.ToTable("webhook_deliveries");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Id).ValueGeneratedNever();
        builder.Property(d => d.EventType).HasMaxLength(50);
        builder.Property(d => d.Status).HasConversion(new LowercaseEnumConverter<WebhookDeliveryStatus>()).HasMaxLength(20);
        builder.Property(d => d.LastError).HasMaxLength(500);
        builder.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(d => d.EndpointId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<DomainEvent>().WithMany().HasForeignKey(d => d.EventId).OnDelete(DeleteBehavior.Cascade);
        // One delivery per event and endpoint (and workflow run, for a "call webhook" action): a consumer run or a workflow
        // run that is repeated cannot fan out twice.
        builder.HasIndex(d => new { d.EndpointId, d.EventId, d.WorkflowRunId }).IsUnique().AreNullsDistinct(false);
        builder.Property(d => d.Sequence).UseIdentityAlwaysColumn();
        builder.HasIndex(d => new { d.EndpointId, d.Sequence });
        builder.HasIndex(d => new { d.Status, d.NextAttemptAt });
        builder.HasMany(d => d.AttemptLog).WithOne().HasForeignKey(a => a.DeliveryId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class WebhookDeliveryAttemptConfiguration : IEntityTypeConfiguration<WebhookDeliveryAttempt>
{
    public void Configure(EntityTypeBuilder<WebhookDeliveryAttempt> builder)
    {
        builder.ToTable("webhook_delivery_attempts");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).ValueGeneratedNever();
        builder.Property(a => a.Error).HasMaxLength(500);
        builder.HasIndex(a => new { a.DeliveryId, a.AttemptedAt });
    }
}

internal sealed class SlackNotificationSettingsConfiguration : IEntityTypeConfiguration<SlackNotificationSettings>
{
    public void Configure(EntityTypeBuilder<SlackNotificationSettings> builder)
    {
        builder.ToTable("slack_notification_settings",
            t => t.HasCheckConstraint("ck_slack_notification_settings_singleton", $"id = {SlackNotificationSettings.SingletonId}"));
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Id).ValueGeneratedNever();
    }
}

internal sealed class FathomSettingsConfiguration : IEntityTypeConfiguration<FathomSettings>
{
    public void Configure(EntityTypeBuilder<FathomSettings> builder)
    {
        builder.ToTable("fathom_settings", t => t.HasCheckConstraint("ck_fathom_settings_singleton", $"id = {FathomSettings.SingletonId}"));
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Id).ValueGeneratedNever();
    }
}
