using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class SessionRevocationConfiguration : IEntityTypeConfiguration<SessionRevocation>
{
    public void Configure(EntityTypeBuilder<SessionRevocation> builder)
    {
        // No foreign key: a revocation outlives nothing and is pruned after its horizon.
        builder.ToTable("session_revocations");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).ValueGeneratedNever();
        builder.HasIndex(r => r.ExpiresAt);
    }
}

internal sealed class SigningKeyConfiguration : IEntityTypeConfiguration<SigningKey>
{
    public void Configure(EntityTypeBuilder<SigningKey> builder)
    {
        builder.ToTable("signing_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Id).HasMaxLength(64);
    }
}

internal sealed class OrganizationIdentityProviderConfiguration : IEntityTypeConfiguration<OrganizationIdentityProvider>
{
    public void Configure(EntityTypeBuilder<OrganizationIdentityProvider> builder)
    {
        builder.ToTable("organization_identity_providers");
        builder.HasKey(p => p.Id);
        builder.Property(p => p.Id).ValueGeneratedNever();
        builder.Property(p => p.DisplayName).HasMaxLength(100);
        builder.Property(p => p.Issuer).HasMaxLength(300);
        builder.Property(p => p.ClientId).HasMaxLength(200);
        builder.Property(p => p.ClientSecretName).HasMaxLength(127);
        builder.Property(p => p.DefaultRole).HasConversion<string>().HasMaxLength(20);
        builder.HasIndex(p => p.OrganizationId).IsUnique();
        builder.HasOne(p => p.Organization).WithMany().HasForeignKey(p => p.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(p => p.Domains).WithOne().HasForeignKey(d => d.ProviderId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class IdentityProviderDomainConfiguration : IEntityTypeConfiguration<IdentityProviderDomain>
{
    public void Configure(EntityTypeBuilder<IdentityProviderDomain> builder)
    {
        // The key is the domain: one organization per domain, enforced by the database.
        builder.ToTable("identity_provider_domains");
        builder.HasKey(d => d.Domain);
        builder.Property(d => d.Domain).HasMaxLength(253);
        builder.HasIndex(d => d.ProviderId);
    }
}
