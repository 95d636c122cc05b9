using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public enum ActivitySource
{
    Manual,
    Integration,
    System,
}

public enum TaskPriority
{
    Low,
    Normal,
    High,
    Urgent,
}

public enum CrmTaskStatus
{
    Open,
    InProgress,
    Done,
    Cancelled,
}

public enum TaskOrigin
{
    Manual,
    Smart,
}

/// <summary>A record attached to a company, a contact and/or a deal (at least one, enforced by a CHECK).</summary>
public abstract class AttachedEntity : TenantEntity
{
    public Guid? CompanyId { get; set; }

    public Guid? ContactId { get; set; }

    public Guid? DealId { get; set; }
}

/// <summary>Something that happened: a call, an email, a meeting held; logged by hand, by an integration or by the system.</summary>
public sealed class CrmActivity : AttachedEntity
{
    public required string Type { get; set; }

    public string? Subject { get; set; }

    public string? Body { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public Guid? ActorId { get; set; }

    public ActivitySource Source { get; set; }

    /// <summary>The id in the integration that produced it, so a redelivery does not log it twice.</summary>
    public string? ExternalId { get; set; }
}

public sealed class CrmTask : AttachedEntity
{
    public required string Title { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset? DueAt { get; set; }

    public TaskPriority Priority { get; set; }

    public CrmTaskStatus Status { get; set; }

    public Guid? AssigneeId { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Smart tasks are suggested by the system; manual ones are typed by people.</summary>
    public TaskOrigin Origin { get; set; }
}

public sealed class Note : AttachedEntity
{
    public required string Body { get; set; }

    public bool Pinned { get; set; }
}

public sealed class Meeting : TenantEntity
{
    public required string Title { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset StartsAt { get; set; }

    public DateTimeOffset EndsAt { get; set; }

    public string? Location { get; set; }

    public Guid? CompanyId { get; set; }

    public Guid? DealId { get; set; }

    /// <summary>What was said and agreed, in Markdown: from Fathom, or generated from the transcript (docs/AI.md).</summary>
    public string? Summary { get; set; }

    public DateTimeOffset? SummarizedAt { get; set; }

    public List<MeetingAttendee> Attendees { get; set; } = [];

    public List<MeetingTranscript> Transcripts { get; set; } = [];
}

public sealed class MeetingAttendee : TenantEntity
{
    public Guid MeetingId { get; set; }

    public required string Email { get; set; }

    public string? Name { get; set; }

    public Guid? ContactId { get; set; }

    public Guid? MemberId { get; set; }
}

public sealed class MeetingTranscript : TenantEntity
{
    public Guid MeetingId { get; set; }

    public ActivitySource Source { get; set; }

    public string? Language { get; set; }

    public required string Content { get; set; }
}

public sealed class CalendarEvent : TenantEntity
{
    public required string Title { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset StartsAt { get; set; }

    public DateTimeOffset EndsAt { get; set; }

    public bool AllDay { get; set; }

    public string? Location { get; set; }

    public Guid? OwnerId { get; set; }

    public Guid? MeetingId { get; set; }

    public Guid? CompanyId { get; set; }

    public Guid? ContactId { get; set; }

    public Guid? DealId { get; set; }

    public ActivitySource Source { get; set; }

    public string? ExternalId { get; set; }
}

public sealed class Tag : TenantEntity
{
    public required string Name { get; set; }

    public string? Color { get; set; }
}

/// <summary>A tag on exactly one company, contact or deal.</summary>
public sealed class Tagging : TenantEntity
{
    public Guid TagId { get; set; }

    public Guid? CompanyId { get; set; }

    public Guid? ContactId { get; set; }

    public Guid? DealId { get; set; }
}

/// <summary>One write to the tenant's data: who, what, which fields changed, and the request's trace id. Append-only.</summary>
public sealed class AuditEntry
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public DateTimeOffset OccurredAt { get; set; }

    public Guid? ActorId { get; set; }

    public required string Action { get; set; }

    public required string EntityType { get; set; }

    public Guid EntityId { get; set; }

    /// <summary>A JSON object (jsonb): field → value on create, field → {from, to} on update.</summary>
    public string Changes { get; set; } = "{}";

    public string? CorrelationId { get; set; }
}
