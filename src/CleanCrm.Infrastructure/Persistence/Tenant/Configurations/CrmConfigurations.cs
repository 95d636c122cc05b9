using CleanCrm.Domain.Common;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal static class AttachedEntityConventions
{
    /// <summary>Real foreign keys to the company/contact/deal a record is attached to, and a CHECK that one is set.</summary>
    public static void ConfigureAttachments<T>(this EntityTypeBuilder<T> builder, string table)
        where T : AttachedEntity
    {
        builder.ToTable(table, t => t.HasCheckConstraint($"ck_{table}_target", "num_nonnulls(company_id, contact_id, deal_id) >= 1"));
        builder.ConfigureTenantEntity();
        builder.HasOne<Company>().WithMany().HasForeignKey(e => e.CompanyId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Contact>().WithMany().HasForeignKey(e => e.ContactId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Deal>().WithMany().HasForeignKey(e => e.DealId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(e => e.CompanyId);
        builder.HasIndex(e => e.ContactId);
        builder.HasIndex(e => e.DealId);
    }
}

internal sealed class DealConfiguration : IEntityTypeConfiguration<Deal>
{
    public void Configure(EntityTypeBuilder<Deal> builder)
    {
        builder.ToTable("deals", t =>
        {
            t.HasCheckConstraint("ck_deals_amount", "amount IS NULL OR amount >= 0");
            t.HasCheckConstraint("ck_deals_currency", "amount IS NULL OR currency IS NOT NULL");
            t.HasCheckConstraint("ck_deals_probability", "probability BETWEEN 0 AND 100");
            t.HasCheckConstraint("ck_deals_closed", "(status = 'open') = (closed_at IS NULL)");
        });
        builder.ConfigureTenantEntity();
        builder.Property(d => d.Name).HasMaxLength(200);
        builder.Property(d => d.Currency).HasMaxLength(3).IsFixedLength();
        builder.Property(d => d.Status).HasConversion(new LowercaseEnumConverter<DealStatus>()).HasMaxLength(10);
        builder.Property(d => d.LostReason).HasMaxLength(500);
        builder.HasOne<Pipeline>().WithMany().HasForeignKey(d => d.PipelineId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<PipelineStage>().WithMany().HasForeignKey(d => d.StageId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Company>().WithMany().HasForeignKey(d => d.CompanyId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Contact>().WithMany().HasForeignKey(d => d.PrimaryContactId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Member>().WithMany().HasForeignKey(d => d.OwnerId).OnDelete(DeleteBehavior.SetNull);
        builder.HasIndex(d => d.PipelineId);
        builder.HasIndex(d => d.StageId);
        builder.HasIndex(d => d.CompanyId);
        builder.HasIndex(d => d.PrimaryContactId);
        builder.HasIndex(d => d.OwnerId);
        builder.HasIndex(d => d.Name);
        builder.HasIndex(d => d.ExpectedCloseDate);
        builder.HasSearchVector("name", "lost_reason");
    }
}

internal sealed class DealContactConfiguration : IEntityTypeConfiguration<DealContact>
{
    public void Configure(EntityTypeBuilder<DealContact> builder)
    {
        builder.ToTable("deal_contacts");
        builder.ConfigureTenantEntity();
        builder.Property(d => d.Role).HasMaxLength(100);
        builder.HasOne<Deal>().WithMany().HasForeignKey(d => d.DealId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Contact>().WithMany().HasForeignKey(d => d.ContactId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(d => new { d.DealId, d.ContactId }).IsUnique().HasFilter("deleted_at IS NULL")
            .HasDatabaseName("ux_deal_contacts_live");
        builder.HasIndex(d => d.ContactId);
    }
}

internal sealed class DealSplitConfiguration : IEntityTypeConfiguration<DealSplit>
{
    public void Configure(EntityTypeBuilder<DealSplit> builder)
    {
        builder.ToTable("deal_splits", t => t.HasCheckConstraint("ck_deal_splits_percent", "percent > 0 AND percent <= 100"));
        builder.ConfigureTenantEntity();
        builder.Property(d => d.Type).HasConversion(new LowercaseEnumConverter<SplitType>()).HasMaxLength(10);
        builder.Property(d => d.Percent).HasPrecision(5, 2);
        builder.HasOne<Deal>().WithMany().HasForeignKey(d => d.DealId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Member>().WithMany().HasForeignKey(d => d.MemberId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(d => new { d.DealId, d.Type, d.MemberId }).IsUnique().HasFilter("deleted_at IS NULL")
            .HasDatabaseName("ux_deal_splits_live");
    }
}

internal sealed class DealStageChangeConfiguration : IEntityTypeConfiguration<DealStageChange>
{
    public void Configure(EntityTypeBuilder<DealStageChange> builder)
    {
        builder.ToTable("deal_stage_history");
        builder.ConfigureTenantEntity();
        builder.HasOne<Deal>().WithMany().HasForeignKey(d => d.DealId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<PipelineStage>().WithMany().HasForeignKey(d => d.FromStageId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<PipelineStage>().WithMany().HasForeignKey(d => d.ToStageId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(d => new { d.DealId, d.ChangedAt });
    }
}

internal sealed class ActivityConfiguration : IEntityTypeConfiguration<CrmActivity>
{
    public void Configure(EntityTypeBuilder<CrmActivity> builder)
    {
        builder.ConfigureAttachments("activities");
        builder.Property(a => a.Type).HasMaxLength(30);
        builder.Property(a => a.Subject).HasMaxLength(300);
        builder.Property(a => a.Source).HasConversion(new LowercaseEnumConverter<ActivitySource>()).HasMaxLength(20);
        builder.Property(a => a.ExternalId).HasMaxLength(200);
        builder.HasOne<Member>().WithMany().HasForeignKey(a => a.ActorId).OnDelete(DeleteBehavior.SetNull);
        builder.HasIndex(a => a.OccurredAt);
        builder.HasIndex(a => new { a.Source, a.ExternalId }).IsUnique().HasFilter("external_id IS NOT NULL AND deleted_at IS NULL")
            .HasDatabaseName("ux_activities_external_live");
    }
}

internal sealed class CrmTaskConfiguration : IEntityTypeConfiguration<CrmTask>
{
    public void Configure(EntityTypeBuilder<CrmTask> builder)
    {
        builder.ConfigureAttachments("tasks");
        builder.Property(t => t.Title).HasMaxLength(300);
        builder.Property(t => t.Priority).HasConversion(new LowercaseEnumConverter<TaskPriority>()).HasMaxLength(10);
        builder.Property(t => t.Status).HasConversion(new LowercaseEnumConverter<CrmTaskStatus>()).HasMaxLength(20);
        builder.Property(t => t.Origin).HasConversion(new LowercaseEnumConverter<TaskOrigin>()).HasMaxLength(10);
        builder.HasOne<Member>().WithMany().HasForeignKey(t => t.AssigneeId).OnDelete(DeleteBehavior.SetNull);
        builder.HasIndex(t => new { t.AssigneeId, t.DueAt });
        builder.HasIndex(t => t.DueAt);
    }
}

internal sealed class NoteConfiguration : IEntityTypeConfiguration<Note>
{
    public void Configure(EntityTypeBuilder<Note> builder) => builder.ConfigureAttachments("notes");
}

internal sealed class MeetingConfiguration : IEntityTypeConfiguration<Meeting>
{
    public void Configure(EntityTypeBuilder<Meeting> builder)
    {
        builder.ToTable("meetings", t => t.HasCheckConstraint("ck_meetings_time", "ends_at >= starts_at"));
        builder.ConfigureTenantEntity();
        builder.Property(m => m.Title).HasMaxLength(300);
        builder.Property(m => m.Location).HasMaxLength(500);
        builder.HasOne<Company>().WithMany().HasForeignKey(m => m.CompanyId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Deal>().WithMany().HasForeignKey(m => m.DealId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(m => m.Attendees).WithOne().HasForeignKey(a => a.MeetingId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(m => m.Transcripts).WithOne().HasForeignKey(a => a.MeetingId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(m => m.StartsAt);
        builder.HasIndex(m => m.CompanyId);
        builder.HasIndex(m => m.DealId);
    }
}

internal sealed class MeetingAttendeeConfiguration : IEntityTypeConfiguration<MeetingAttendee>
{
    public void Configure(EntityTypeBuilder<MeetingAttendee> builder)
    {
        builder.ToTable("meeting_attendees");
        builder.ConfigureTenantEntity();
        builder.Property(a => a.Email).HasMaxLength(254);
        builder.Property(a => a.Name).HasMaxLength(200);
        builder.HasOne<Contact>().WithMany().HasForeignKey(a => a.ContactId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Member>().WithMany().HasForeignKey(a => a.MemberId).OnDelete(DeleteBehavior.SetNull);
        builder.HasIndex(a => a.MeetingId);
        builder.HasIndex(a => a.ContactId);
    }
}

internal sealed class MeetingTranscriptConfiguration : IEntityTypeConfiguration<MeetingTranscript>
{
    public void Configure(EntityTypeBuilder<MeetingTranscript> builder)
    {
        builder.ToTable("meeting_transcripts");
        builder.ConfigureTenantEntity();
        builder.Property(t => t.Source).HasConversion(new LowercaseEnumConverter<ActivitySource>()).HasMaxLength(20);
        builder.Property(t => t.Language).HasMaxLength(20);
        builder.HasIndex(t => new { t.MeetingId, t.Source }).IsUnique().HasFilter("deleted_at IS NULL")
            .HasDatabaseName("ux_meeting_transcripts_live");
    }
}

internal sealed class CalendarEventConfiguration : IEntityTypeConfiguration<CalendarEvent>
{
    public void Configure(EntityTypeBuilder<CalendarEvent> builder)
    {
        builder.ToTable("calendar_events", t => t.HasCheckConstraint("ck_calendar_events_time", "ends_at >= starts_at"));
        builder.ConfigureTenantEntity();
        builder.Property(e => e.Title).HasMaxLength(300);
        builder.Property(e => e.Location).HasMaxLength(500);
        builder.Property(e => e.Source).HasConversion(new LowercaseEnumConverter<ActivitySource>()).HasMaxLength(20);
        builder.Property(e => e.ExternalId).HasMaxLength(200);
        builder.HasOne<Member>().WithMany().HasForeignKey(e => e.OwnerId).OnDelete(DeleteBehavior.SetNull);
        builder.HasOne<Meeting>().WithMany().HasForeignKey(e => e.MeetingId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Company>().WithMany().HasForeignKey(e => e.CompanyId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Contact>().WithMany().HasForeignKey(e => e.ContactId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Deal>().WithMany().HasForeignKey(e => e.DealId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(e => new { e.OwnerId, e.StartsAt });
        builder.HasIndex(e => e.StartsAt);
        builder.HasIndex(e => new { e.Source, e.ExternalId }).IsUnique().HasFilter("external_id IS NOT NULL AND deleted_at IS NULL")
            .HasDatabaseName("ux_calendar_events_external_live");
    }
}

internal sealed class TagConfiguration : IEntityTypeConfiguration<Tag>
{
    public void Configure(EntityTypeBuilder<Tag> builder)
    {
        builder.ToTable("tags");
        builder.ConfigureTenantEntity();
        builder.Property(t => t.Name).HasMaxLength(50);
        builder.Property(t => t.Color).HasMaxLength(7);
        // ux_tags_name_live is unique on lower(name) among live tags: an expression index, created by hand in the
        // TagNamesCaseInsensitive migration (EF cannot model it).
    }
}

internal sealed class TaggingConfiguration : IEntityTypeConfiguration<Tagging>
{
    public void Configure(EntityTypeBuilder<Tagging> builder)
    {
        builder.ToTable("taggings", t => t.HasCheckConstraint("ck_taggings_target", "num_nonnulls(company_id, contact_id, deal_id) = 1"));
        builder.ConfigureTenantEntity();
        builder.HasOne<Tag>().WithMany().HasForeignKey(t => t.TagId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Company>().WithMany().HasForeignKey(t => t.CompanyId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Contact>().WithMany().HasForeignKey(t => t.ContactId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Deal>().WithMany().HasForeignKey(t => t.DealId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(t => new { t.TagId, t.CompanyId, t.ContactId, t.DealId }).IsUnique().HasFilter("deleted_at IS NULL")
            .AreNullsDistinct(false).HasDatabaseName("ux_taggings_live");
        builder.HasIndex(t => t.CompanyId);
        builder.HasIndex(t => t.ContactId);
        builder.HasIndex(t => t.DealId);
    }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_log");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).ValueGeneratedNever();
        builder.Property(a => a.Action).HasMaxLength(20);
        builder.Property(a => a.EntityType).HasMaxLength(50);
        builder.Property(a => a.Changes).HasColumnType("jsonb");
        builder.Property(a => a.CorrelationId).HasMaxLength(64);
        builder.HasIndex(a => new { a.OccurredAt, a.Id });
        builder.HasIndex(a => new { a.EntityType, a.EntityId });
        builder.HasIndex(a => a.ActorId);
    }
}

internal sealed class CompanyEnrichmentConfiguration : IEntityTypeConfiguration<CompanyEnrichment>
{
    public void Configure(EntityTypeBuilder<CompanyEnrichment> builder)
    {
        builder.ToTable("company_enrichments");
        builder.HasKey(e => e.CompanyId);
        builder.HasOne<Company>().WithOne().HasForeignKey<CompanyEnrichment>(e => e.CompanyId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(e => e.Domain).HasMaxLength(253);
        builder.Property(e => e.Status).HasConversion(new LowercaseEnumConverter<EnrichmentStatus>()).HasMaxLength(20);
        builder.Property(e => e.Title).HasMaxLength(300);
        builder.Property(e => e.Description).HasMaxLength(1000);
        builder.Property(e => e.LogoHash).HasMaxLength(64);
        builder.Property(e => e.LogoSourceUrl).HasMaxLength(2048);
        builder.Property(e => e.Failure).HasMaxLength(100);
    }
}
