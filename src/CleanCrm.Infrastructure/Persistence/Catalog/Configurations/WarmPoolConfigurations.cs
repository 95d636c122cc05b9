using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class WarmPoolDatabaseConfiguration : IEntityTypeConfiguration<WarmPoolDatabase>
{
    public void Configure(EntityTypeBuilder<WarmPoolDatabase> builder)
    {
        builder.ToTable("warm_pool_databases");
        builder.HasKey(w => w.Id);
        builder.Property(w => w.Status).HasConversion(new LowercaseEnumConverter<WarmPoolDatabaseStatus>()).HasMaxLength(20);
        builder.Property(w => w.SchemaVersion).HasMaxLength(150);
        builder.Ignore(w => w.DatabaseName);
        builder.HasOne<DatabaseServer>().WithMany().HasForeignKey(w => w.DatabaseServerId).OnDelete(DeleteBehavior.Restrict);

        // A claim scans one server's ready entries; an organization claims at most one entry.
        builder.HasIndex(w => new { w.DatabaseServerId, w.Status });
        builder.HasIndex(w => w.OrganizationId).IsUnique().HasFilter("organization_id IS NOT NULL");
    }
}
