using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Common;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal static class TenantEntityConventions
{
    public static void ConfigureTenantEntity<T>(this EntityTypeBuilder<T> builder)
        where T : TenantEntity
    {
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).ValueGeneratedNever();
        builder.Property(e => e.Version).IsRowVersion();
        builder.Ignore(e => e.IsDeleted);
        builder.HasIndex(e => e.CreatedAt);
    }

    /// <summary>A stored generated tsvector over the given columns with a GIN index, for <c>q</c> full-text search.</summary>
    public static void HasSearchVector<T>(this EntityTypeBuilder<T> builder, params string[] columns)
        where T : class
    {
        var document = string.Join(" || ' ' || ", columns.Select(column => $"coalesce({column}, '')"));
        builder.Property<NpgsqlTypes.NpgsqlTsVector>(TenantDbContext.SearchVector)
            .HasComputedColumnSql($"to_tsvector('{TenantDbContext.TextSearchConfiguration}', {document})", stored: true);
        builder.HasIndex(TenantDbContext.SearchVector).HasMethod("GIN");
    }
}

internal sealed class MemberConfiguration : IEntityTypeConfiguration<Member>
{
    public void Configure(EntityTypeBuilder<Member> builder)
    {
        builder.ToTable("members");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Id).ValueGeneratedNever();
        builder.Property(m => m.Email).HasMaxLength(254);
        builder.Property(m => m.Name).HasMaxLength(200);
        builder.Property(m => m.Role).HasConversion(new LowercaseEnumConverter<OrgRole>()).HasMaxLength(20);
    }
}

internal sealed class CompanyConfiguration : IEntityTypeConfiguration<Company>
{
    public void Configure(EntityTypeBuilder<Company> builder)
    {
        builder.ToTable("companies", t =>
        {
            t.HasCheckConstraint("ck_companies_annual_revenue", "annual_revenue IS NULL OR annual_revenue >= 0");
            t.HasCheckConstraint("ck_companies_employee_count", "employee_count IS NULL OR employee_count >= 0");
        });
        builder.ConfigureTenantEntity();
        builder.Property(c => c.Name).HasMaxLength(200);
        builder.Property(c => c.Domain).HasMaxLength(253);
        builder.HasIndex(c => c.Domain).IsUnique().HasFilter("deleted_at IS NULL").HasDatabaseName("ux_companies_domain_live");
        builder.Property(c => c.Industry).HasMaxLength(100);
        builder.Property(c => c.Currency).HasMaxLength(3).IsFixedLength();
        builder.Property(c => c.Address).HasMaxLength(500);
        builder.Property(c => c.CustomFields).HasColumnType("jsonb");
        builder.HasIndex(c => c.Name);
        builder.HasIndex(c => c.OwnerId);
        builder.HasOne<Member>().WithMany().HasForeignKey(c => c.OwnerId).OnDelete(DeleteBehavior.SetNull);
        builder.HasSearchVector("name", "domain", "industry");
    }
}

internal sealed class ContactConfiguration : IEntityTypeConfiguration<Contact>
{
    public void Configure(EntityTypeBuilder<Contact> builder)
    {
        builder.ToTable("contacts");
        builder.ConfigureTenantEntity();
        builder.Property(c => c.FirstName).HasMaxLength(100);
        builder.Property(c => c.LastName).HasMaxLength(100);
        builder.Property(c => c.Email).HasMaxLength(254);
        builder.HasIndex(c => c.Email).IsUnique().HasFilter("deleted_at IS NULL").HasDatabaseName("ux_contacts_email_live");
        builder.Property(c => c.Phone).HasMaxLength(50);
        builder.Property(c => c.JobTitle).HasMaxLength(150);
        builder.Property(c => c.Source).HasMaxLength(100);
        builder.Property(c => c.CustomFields).HasColumnType("jsonb");
        builder.HasIndex(c => c.CompanyId);
        builder.HasIndex(c => c.OwnerId);
        builder.HasOne(c => c.Company).WithMany().HasForeignKey(c => c.CompanyId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Member>().WithMany().HasForeignKey(c => c.OwnerId).OnDelete(DeleteBehavior.SetNull);
        builder.HasSearchVector("first_name", "last_name", "email", "job_title");
    }
}

internal sealed class PipelineConfiguration : IEntityTypeConfiguration<Pipeline>
{
    public void Configure(EntityTypeBuilder<Pipeline> builder)
    {
        builder.ToTable("pipelines");
        builder.ConfigureTenantEntity();
        builder.Property(p => p.Name).HasMaxLength(100);
        builder.HasMany(p => p.Stages).WithOne().HasForeignKey(s => s.PipelineId).OnDelete(DeleteBehavior.Cascade);
        // Created by hand in the PipelineManagement migration, as EF cannot model them: ux_pipelines_name, unique on
        // lower(name) among live pipelines, and ux_pipelines_one_default, an exclusion constraint allowing one live default,
        // checked at commit so handing the default from one pipeline to another is one transaction.
    }
}

internal sealed class PipelineStageConfiguration : IEntityTypeConfiguration<PipelineStage>
{
    public void Configure(EntityTypeBuilder<PipelineStage> builder)
    {
        builder.ToTable("pipeline_stages", t => t.HasCheckConstraint("ck_pipeline_stages_probability", "probability BETWEEN 0 AND 100"));
        builder.ConfigureTenantEntity();
        builder.Property(s => s.Name).HasMaxLength(100);
        builder.Property(s => s.Kind).HasConversion(new LowercaseEnumConverter<StageKind>()).HasMaxLength(10);
        // Stages created before they were tenant entities (and by the provisioning seeder) get their stamps here.
        builder.Property(s => s.CreatedAt).HasDefaultValueSql("now()");
        builder.Property(s => s.UpdatedAt).HasDefaultValueSql("now()");
        // Positions are unique per pipeline through a DEFERRABLE constraint that the migration creates, so a reorder
        // can swap positions in one transaction; the model only knows a plain index, so EF does not try to order the
        // swaps itself (it cannot: a swap is a cycle).
        builder.HasIndex(s => new { s.PipelineId, s.Position }).HasDatabaseName("ix_pipeline_stages_pipeline_id_position");
    }
}
