using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal sealed class ImportConfiguration : IEntityTypeConfiguration<Import>
{
    public void Configure(EntityTypeBuilder<Import> builder)
    {
        builder.ToTable("imports", t => t.HasCheckConstraint(
            "ck_imports_counts", "rows_read >= 0 AND inserted >= 0 AND updated >= 0 AND skipped >= 0 AND failed >= 0"));
        builder.ConfigureTenantEntity();
        builder.Property(i => i.Kind).HasMaxLength(20);
        builder.Property(i => i.Status).HasConversion(new LowercaseEnumConverter<ImportStatus>()).HasMaxLength(20);
        builder.Property(i => i.OnDuplicate).HasConversion(new LowercaseEnumConverter<DuplicatePolicy>()).HasMaxLength(20);
        builder.Property(i => i.FileName).HasMaxLength(255);
        builder.Property(i => i.Errors).HasColumnType("jsonb");
        builder.Property(i => i.FailureReason).HasMaxLength(2000);
        builder.HasIndex(i => i.Status);
    }
}

internal sealed class ImportUploadChunkConfiguration : IEntityTypeConfiguration<ImportUploadChunk>
{
    public void Configure(EntityTypeBuilder<ImportUploadChunk> builder)
    {
        builder.ToTable("import_upload_chunks");
        builder.HasKey(c => new { c.ImportId, c.Sequence });
        builder.HasOne<Import>().WithMany().HasForeignKey(c => c.ImportId).OnDelete(DeleteBehavior.Cascade);
    }
}
