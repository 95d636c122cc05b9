using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class PlatformAuditEntryConfiguration : IEntityTypeConfiguration<PlatformAuditEntry>
{
    public void Configure(EntityTypeBuilder<PlatformAuditEntry> builder)
    {
        // No foreign keys: entries outlive the users and organizations they name (and the table refuses deletes anyway).
        builder.ToTable("platform_audit_log", t => t.HasCheckConstraint("ck_platform_audit_log_outcome", "outcome IN ('succeeded', 'failed')"));
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).ValueGeneratedNever();
        builder.Property(e => e.ActorEmail).HasMaxLength(320);
        builder.Property(e => e.Channel).HasMaxLength(20);
        builder.Property(e => e.IpAddress).HasMaxLength(64);
        builder.Property(e => e.UserAgent).HasMaxLength(300);
        builder.Property(e => e.Action).HasMaxLength(100);
        builder.Property(e => e.Reason).HasMaxLength(500);
        builder.Property(e => e.Outcome).HasMaxLength(20);
        builder.Property(e => e.Error).HasMaxLength(100);
        builder.HasIndex(e => new { e.OccurredAt, e.Id });
        builder.HasIndex(e => new { e.OrganizationId, e.OccurredAt });
        builder.HasIndex(e => new { e.ActorUserId, e.OccurredAt });
    }
}

internal sealed class SupportSessionConfiguration : IEntityTypeConfiguration<SupportSession>
{
    public void Configure(EntityTypeBuilder<SupportSession> builder)
    {
        builder.ToTable("support_sessions", t => t.HasCheckConstraint("ck_support_sessions_window",
            "expires_at > started_at AND expires_at <= started_at + interval '60 minutes'"));
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Id).ValueGeneratedNever();
        builder.Property(s => s.Reason).HasMaxLength(SupportSession.MaxReasonLength);
        builder.HasOne<Organization>().WithMany().HasForeignKey(s => s.OrganizationId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<UserAccount>().WithMany().HasForeignKey(s => s.AdminUserId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(s => new { s.OrganizationId, s.StartedAt });
        builder.HasIndex(s => new { s.AdminUserId, s.StartedAt });
    }
}
