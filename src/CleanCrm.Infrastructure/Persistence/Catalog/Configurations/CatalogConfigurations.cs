using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Secrets;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class OrganizationConfiguration : IEntityTypeConfiguration<Organization>
{
    public void Configure(EntityTypeBuilder<Organization> builder)
    {
        builder.ToTable("organizations", t => t.HasCheckConstraint("ck_organizations_slug", "slug ~ '^[a-z][a-z0-9-]{2,39}$'"));
        builder.HasKey(o => o.Id);
        builder.Property(o => o.Slug).HasMaxLength(40);
        builder.HasIndex(o => o.Slug).IsUnique();
        builder.Property(o => o.Name).HasMaxLength(200);
        builder.Property(o => o.Status).HasConversion(new LowercaseEnumConverter<OrganizationStatus>()).HasMaxLength(20);
        builder.HasIndex(o => o.Status);
        builder.Property(o => o.PlanKey).HasMaxLength(40);
        builder.HasOne<Plan>().WithMany().HasForeignKey(o => o.PlanKey).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne(o => o.DatabaseServer).WithMany().HasForeignKey(o => o.DatabaseServerId).OnDelete(DeleteBehavior.Restrict);
        builder.Property(o => o.DatabaseName).HasMaxLength(63);
        builder.Property(o => o.DatabaseRole).HasMaxLength(63);
        builder.Property(o => o.SchemaVersion).HasMaxLength(150);
        builder.Property(o => o.Version).IsRowVersion();
    }
}

internal sealed class DatabaseServerConfiguration : IEntityTypeConfiguration<DatabaseServer>
{
    public void Configure(EntityTypeBuilder<DatabaseServer> builder)
    {
        builder.ToTable("database_servers", t => t.HasCheckConstraint("ck_database_servers_capacity", "capacity >= 0"));
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Name).HasMaxLength(100);
        builder.HasIndex(s => s.Name).IsUnique();
        builder.Property(s => s.Host).HasMaxLength(255);
        builder.Property(s => s.AdminUsername).HasMaxLength(63);
        builder.Property(s => s.AdminSecretName).HasMaxLength(127);
        builder.Property(s => s.Status).HasConversion(new LowercaseEnumConverter<DatabaseServerStatus>()).HasMaxLength(20);
        builder.HasIndex(s => new { s.Host, s.Port }).IsUnique();
    }
}

internal sealed class UserAccountConfiguration : IEntityTypeConfiguration<UserAccount>
{
    public void Configure(EntityTypeBuilder<UserAccount> builder)
    {
        builder.ToTable("users");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Email).HasMaxLength(254);
        builder.Property(u => u.NormalizedEmail).HasMaxLength(254);
        builder.HasIndex(u => u.NormalizedEmail).IsUnique();
        builder.Property(u => u.Name).HasMaxLength(200);
        builder.Property(u => u.SecurityStamp).HasMaxLength(64);
        builder.Property(u => u.TwoFactorKey).HasMaxLength(1000);
        builder.Ignore(u => u.TwoFactorEnabled);
    }
}

internal sealed class MembershipConfiguration : IEntityTypeConfiguration<Membership>
{
    public void Configure(EntityTypeBuilder<Membership> builder)
    {
        builder.ToTable("memberships");
        builder.HasKey(m => new { m.OrganizationId, m.UserId });
        builder.HasIndex(m => m.UserId);
        builder.Property(m => m.Role).HasConversion(new LowercaseEnumConverter<OrgRole>()).HasMaxLength(20);
        builder.HasOne(m => m.Organization).WithMany().HasForeignKey(m => m.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne(m => m.User).WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class PlanConfiguration : IEntityTypeConfiguration<Plan>
{
    public void Configure(EntityTypeBuilder<Plan> builder)
    {
        builder.ToTable("plans");
        builder.HasKey(p => p.Key);
        builder.Property(p => p.Key).HasMaxLength(40);
        builder.Property(p => p.Name).HasMaxLength(100);
        builder.HasMany(p => p.Features).WithOne().HasForeignKey(f => f.PlanKey).OnDelete(DeleteBehavior.Cascade);
        builder.HasData(PlanCatalog.Plans);
    }
}

internal sealed class PlanFeatureConfiguration : IEntityTypeConfiguration<PlanFeature>
{
    public void Configure(EntityTypeBuilder<PlanFeature> builder)
    {
        builder.ToTable("plan_features");
        builder.HasKey(f => new { f.PlanKey, f.FeatureKey });
        builder.Property(f => f.FeatureKey).HasMaxLength(60);
        builder.HasData(PlanCatalog.Features);
    }
}

internal sealed class StoredSecretConfiguration : IEntityTypeConfiguration<StoredSecret>
{
    public void Configure(EntityTypeBuilder<StoredSecret> builder)
    {
        builder.ToTable("secrets");
        builder.HasKey(s => s.Name);
        builder.Property(s => s.Name).HasMaxLength(127);
    }
}

/// <summary>The plan table of docs/BILLING.md, seeded by the catalog migrations.</summary>
internal static class PlanCatalog
{
    public static readonly Plan[] Plans =
    [
        new() { Key = Plan.Free, Name = "Free", Seats = 1, AiTokensPerMonth = 0, ApiRequestsPer10Seconds = 100, BackupRetentionDays = 7 },
        new() { Key = Plan.Pro, Name = "Pro", Seats = 5, AiTokensPerMonth = 100_000, ApiRequestsPer10Seconds = 190,
            BackupRetentionDays = 30 },
        new() { Key = Plan.Enterprise, Name = "Enterprise", Seats = null, AiTokensPerMonth = null, ApiRequestsPer10Seconds = 250,
            BackupRetentionDays = 365 },
    ];

    public static readonly PlanFeature[] Features =
    [
        .. PremiumFeatures.All.Select(key => new PlanFeature { PlanKey = Plan.Free, FeatureKey = key, Enabled = false }),
        .. PremiumFeatures.All.Select(key => new PlanFeature { PlanKey = Plan.Pro, FeatureKey = key, Enabled = true }),
        .. PremiumFeatures.All.Select(key => new PlanFeature { PlanKey = Plan.Enterprise, FeatureKey = key, Enabled = true }),
    ];
}

internal sealed class ProvisioningRunConfiguration : IEntityTypeConfiguration<ProvisioningRun>
{
    public void Configure(EntityTypeBuilder<ProvisioningRun> builder)
    {
        builder.ToTable("provisioning_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Status).HasConversion(new LowercaseEnumConverter<ProvisioningStatus>()).HasMaxLength(20);
        builder.Property(r => r.Error).HasMaxLength(2000);
        builder.HasOne<Organization>().WithMany().HasForeignKey(r => r.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(r => r.OrganizationId)
            .IsUnique()
            .HasFilter("status IN ('pending', 'running')")
            .HasDatabaseName("ux_provisioning_runs_one_open_per_org");
        builder.HasIndex(r => new { r.Status, r.QueuedAt });
        builder.HasMany(r => r.Steps).WithOne().HasForeignKey(s => s.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ProvisioningStepConfiguration : IEntityTypeConfiguration<ProvisioningStep>
{
    public void Configure(EntityTypeBuilder<ProvisioningStep> builder)
    {
        builder.ToTable("provisioning_steps");
        builder.HasKey(s => new { s.RunId, s.Name });
        builder.Property(s => s.Name).HasMaxLength(40);
        builder.Property(s => s.Status).HasConversion(new LowercaseEnumConverter<ProvisioningStatus>()).HasMaxLength(20);
        builder.Property(s => s.Error).HasMaxLength(2000);
    }
}
