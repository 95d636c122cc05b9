using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Persistence;

/// <summary>The organization's own database, reached through its own PostgreSQL role. Handlers use it directly.</summary>
public interface ITenantDbContext
{
    DbSet<Member> Members { get; }

    DbSet<Company> Companies { get; }

    DbSet<Contact> Contacts { get; }

    DbSet<Pipeline> Pipelines { get; }

    DbSet<PipelineStage> PipelineStages { get; }

    DbSet<Deal> Deals { get; }

    DbSet<DealContact> DealContacts { get; }

    DbSet<DealSplit> DealSplits { get; }

    DbSet<DealStageChange> DealStageHistory { get; }

    DbSet<CrmActivity> Activities { get; }

    DbSet<CrmTask> Tasks { get; }

    DbSet<Note> Notes { get; }

    DbSet<Meeting> Meetings { get; }

    DbSet<MeetingAttendee> MeetingAttendees { get; }

    DbSet<MeetingTranscript> MeetingTranscripts { get; }

    DbSet<CalendarEvent> CalendarEvents { get; }

    DbSet<Tag> Tags { get; }

    DbSet<Tagging> Taggings { get; }

    /// <summary>Append-only; rows are written by the persistence layer on every save, never by handlers.</summary>
    DbSet<AuditEntry> AuditLog { get; }

    DbSet<Import> Imports { get; }

    /// <summary>The outbox; rows are written by the persistence layer when records change, never by handlers.</summary>
    DbSet<DomainEvent> DomainEvents { get; }

    DbSet<WebhookEndpoint> WebhookEndpoints { get; }

    DbSet<WebhookDelivery> WebhookDeliveries { get; }

    DbSet<SlackNotificationSettings> SlackNotificationSettings { get; }

    DbSet<FathomSettings> FathomSettings { get; }

    DbSet<Workflow> Workflows { get; }

    DbSet<WorkflowRun> WorkflowRuns { get; }

    /// <summary>Written by the company enrichment job only; read by the logo endpoint.</summary>
    DbSet<CompanyEnrichment> CompanyEnrichments { get; }

    /// <summary>Copilot conversations, each private to its user (docs/AI.md).</summary>
    DbSet<CopilotConversation> CopilotConversations { get; }

    DbSet<CopilotMessage> CopilotMessages { get; }

    /// <summary>Proposals drafted by the model for deals, and the org's template (docs/AI.md, "Proposals").</summary>
    DbSet<Proposal> Proposals { get; }

    DbSet<ProposalTemplate> ProposalTemplates { get; }

    /// <summary>Live companies whose full-text document matches a web-style query (<c>acme -inc "big deal"</c>).</summary>
    IQueryable<Company> CompaniesMatching(string query);

    /// <summary>Live contacts whose full-text document matches a web-style query.</summary>
    IQueryable<Contact> ContactsMatching(string query);

    /// <summary>Live deals whose full-text document matches a web-style query.</summary>
    IQueryable<Deal> DealsMatching(string query);

    /// <summary>
    /// Rows of a raw, parameterized SQL query (interpolated values become parameters) on this organization's database;
    /// for aggregates LINQ cannot say in one statement (reports, docs/REPORTS.md). Columns are named as the row type's
    /// properties in snake_case.
    /// </summary>
    IQueryable<TResult> SqlQuery<TResult>(FormattableString sql);

    /// <summary>Saves; unique and foreign-key violations surface as <see cref="ConstraintViolationException"/>.</summary>
    Task<int> SaveChangesAsync(CancellationToken cancellationToken = default);

    /// <summary>Tells the change tracker which version the caller saw, so a concurrent update makes the save fail.</summary>
    void ExpectVersion<TEntity>(TEntity entity, uint version)
        where TEntity : class;
}

public enum ConstraintKind
{
    Unique,
    ForeignKey,
    Check,
}

/// <summary>A database constraint refused a write; the handler turns it into a 409/400 instead of a 500.</summary>
public sealed class ConstraintViolationException(ConstraintKind kind, string constraintName, Exception inner)
    : Exception($"{kind} constraint '{constraintName}' was violated.", inner)
{
    public ConstraintKind Kind { get; } = kind;

    public string ConstraintName { get; } = constraintName;
}

/// <summary>Another writer changed the row since the caller read it.</summary>
public sealed class ConcurrencyConflictException(Exception inner) : Exception("The record was changed by someone else.", inner);
