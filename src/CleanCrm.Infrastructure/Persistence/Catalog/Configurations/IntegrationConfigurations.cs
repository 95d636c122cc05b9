using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class IntegrationConnectionConfiguration : IEntityTypeConfiguration<IntegrationConnection>
{
    public void Configure(EntityTypeBuilder<IntegrationConnection> builder)
    {
        builder.ToTable("integration_connections");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Provider).HasMaxLength(20);
        builder.Property(c => c.Status).HasMaxLength(20);
        builder.Property(c => c.Scopes).HasMaxLength(2000);
        builder.Property(c => c.ExternalAccountId).HasMaxLength(200);
        builder.Property(c => c.LastError).HasMaxLength(500);
        builder.HasIndex(c => new { c.OrganizationId, c.Provider }).IsUnique();
        builder.HasIndex(c => new { c.Provider, c.ExternalAccountId });
        builder.HasIndex(c => c.AccessTokenExpiresAt);
        builder.HasOne<Organization>().WithMany().HasForeignKey(c => c.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class IntegrationAuthorizationConfiguration : IEntityTypeConfiguration<IntegrationAuthorization>
{
    public void Configure(EntityTypeBuilder<IntegrationAuthorization> builder)
    {
        builder.ToTable("integration_authorizations");
        builder.HasKey(a => a.StateHash);
        builder.Property(a => a.StateHash).HasMaxLength(64);
        builder.Property(a => a.Provider).HasMaxLength(20);
        builder.Property(a => a.RedirectUri).HasMaxLength(500);
        builder.HasIndex(a => a.ExpiresAt);
        builder.HasOne<Organization>().WithMany().HasForeignKey(a => a.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class IntegrationWebhookDeliveryConfiguration : IEntityTypeConfiguration<IntegrationWebhookDelivery>
{
    public void Configure(EntityTypeBuilder<IntegrationWebhookDelivery> builder)
    {
        builder.ToTable("integration_webhook_inbox");
        builder.HasKey(d => new { d.Provider, d.EventId });
        builder.Property(d => d.Provider).HasMaxLength(20);
        builder.Property(d => d.EventId).HasMaxLength(255);
        builder.Property(d => d.Type).HasMaxLength(100);
        builder.Property(d => d.LastError).HasMaxLength(500);
        builder.HasIndex(d => d.OrganizationId);
        builder.HasIndex(d => d.ReceivedAt).HasFilter("processed_at IS NULL");
    }
}
