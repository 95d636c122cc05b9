using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class BackupConfiguration : IEntityTypeConfiguration<Backup>
{
    public void Configure(EntityTypeBuilder<Backup> builder)
    {
        builder.ToTable("backups", t => t.HasCheckConstraint("ck_backups_size", "size_bytes IS NULL OR size_bytes >= 0"));
        builder.HasKey(b => b.Id);
        builder.HasOne<Organization>().WithMany().HasForeignKey(b => b.OrganizationId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<DatabaseServer>().WithMany().HasForeignKey(b => b.DatabaseServerId).OnDelete(DeleteBehavior.Restrict);
        builder.Property(b => b.DatabaseName).HasMaxLength(63);
        builder.Property(b => b.SchemaVersion).HasMaxLength(150);
        builder.Property(b => b.Trigger).HasConversion(new LowercaseEnumConverter<BackupTrigger>()).HasMaxLength(20);
        builder.Property(b => b.Status).HasConversion(new LowercaseEnumConverter<BackupStatus>()).HasMaxLength(20);
        builder.Property(b => b.Store).HasMaxLength(20);
        builder.Property(b => b.Location).HasMaxLength(500);
        builder.Property(b => b.Sha256).HasMaxLength(64).IsFixedLength();
        builder.Property(b => b.Error).HasMaxLength(2000);
        builder.Property(b => b.FingerprintAlgorithm).HasConversion(new LowercaseEnumConverter<FingerprintAlgorithm>()).HasMaxLength(20);
        builder.HasIndex(b => new { b.OrganizationId, b.QueuedAt });
        builder.HasIndex(b => new { b.Status, b.FinishedAt });
        builder.HasMany(b => b.Tables).WithOne().HasForeignKey(t => t.BackupId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class BackupTableConfiguration : IEntityTypeConfiguration<BackupTable>
{
    public void Configure(EntityTypeBuilder<BackupTable> builder)
    {
        builder.ToTable("backup_tables");
        builder.HasKey(t => new { t.BackupId, t.TableName });
        builder.Property(t => t.TableName).HasMaxLength(63);
        builder.Property(t => t.ContentHash).HasMaxLength(32).IsFixedLength();
    }
}

internal sealed class BackupRestoreConfiguration : IEntityTypeConfiguration<BackupRestore>
{
    public void Configure(EntityTypeBuilder<BackupRestore> builder)
    {
        builder.ToTable("backup_restores");
        builder.HasKey(r => r.Id);
        builder.HasOne<Backup>().WithMany().HasForeignKey(r => r.BackupId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Organization>().WithMany().HasForeignKey(r => r.OrganizationId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<DatabaseServer>().WithMany().HasForeignKey(r => r.TargetServerId).OnDelete(DeleteBehavior.Restrict);
        builder.Property(r => r.DatabaseName).HasMaxLength(63);
        builder.Property(r => r.PreviousDatabaseName).HasMaxLength(63);
        builder.Property(r => r.Mode).HasConversion(new LowercaseEnumConverter<RestoreMode>()).HasMaxLength(20);
        builder.Property(r => r.Status).HasConversion(new LowercaseEnumConverter<RestoreStatus>()).HasMaxLength(20);
        builder.Property(r => r.Error).HasMaxLength(2000);
        builder.HasIndex(r => r.OrganizationId);
    }
}

internal sealed class BackupAccessEntryConfiguration : IEntityTypeConfiguration<BackupAccessEntry>
{
    public void Configure(EntityTypeBuilder<BackupAccessEntry> builder)
    {
        builder.ToTable("backup_access_log");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).UseIdentityAlwaysColumn();
        builder.Property(e => e.Action).HasConversion(new LowercaseEnumConverter<BackupAccessAction>()).HasMaxLength(20);
        builder.Property(e => e.ClientAddress).HasMaxLength(64);
        builder.Property(e => e.Outcome).HasMaxLength(500);
        builder.HasIndex(e => new { e.OrganizationId, e.Id });
    }
}
