namespace CleanCrm.Domain.Tenant;

/// <summary>The names of the domain events a tenant database records in its outbox (docs/WORKFLOWS.md, "Events").</summary>
public static class DomainEventTypes
{
    public const string DealCreated = "deal.created";
    public const string DealStageChanged = "deal.stage_changed";
    public const string DealWon = "deal.won";
    public const string DealLost = "deal.lost";
    public const string ContactCreated = "contact.created";

    /// <summary>An open task's due time passed (raised once per due time by the overdue scan, docs/WORKFLOWS.md).</summary>
    public const string TaskOverdue = "task.overdue";

    /// <summary>A meeting got its summary (raised by the meeting summaries).</summary>
    public const string MeetingSummarized = "meeting.summarized";

    public static readonly IReadOnlyList<string> All =
        [DealCreated, DealStageChanged, DealWon, DealLost, ContactCreated, TaskOverdue, MeetingSummarized];
}

/// <summary>
/// Something that happened to the organization's records, written in the same transaction as the change (the outbox,
/// docs/adr/0020-domain-event-outbox.md) and handed to each consumer once.
/// </summary>
public sealed class DomainEvent
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Type { get; set; }

    public required string EntityType { get; set; }

    public Guid EntityId { get; set; }

    public Guid? ActorId { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>The record as the API shows it (JSON), plus what the event adds (e.g. the previous stage).</summary>
    public required string Data { get; set; }

    /// <summary>
    /// How many workflow runs led to this event: 0 for a change made by a person, an integration or a job; the depth of the
    /// run plus one for a change a workflow run made (loop prevention, docs/adr/0022-workflows.md).
    /// </summary>
    public int Depth { get; set; }

    /// <summary>The workflow run whose write raised this event, if any.</summary>
    public Guid? CausationRunId { get; set; }
}

/// <summary>Records that a consumer handled an event; written in the consumer's own transaction, so it handles it once.</summary>
public sealed class DomainEventConsumption
{
    public required string Consumer { get; set; }

    public Guid EventId { get; set; }

    public DateTimeOffset ConsumedAt { get; set; }
}

/// <summary>Which domain events the organization posts to its Slack channel (one row; none means nothing is posted).</summary>
public sealed class SlackNotificationSettings
{
    public const int SingletonId = 1;

    /// <summary>The events Slack can be told about (docs/WORKFLOWS.md, "Slack notifications").</summary>
    public static readonly IReadOnlyList<string> Supported =
        [DomainEventTypes.DealWon, DomainEventTypes.DealLost, DomainEventTypes.DealStageChanged, DomainEventTypes.TaskOverdue,
            DomainEventTypes.MeetingSummarized];

    public int Id { get; set; } = SingletonId;

    public List<string> Events { get; set; } = [];

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedBy { get; set; }
}

/// <summary>Remembers that <c>task.overdue</c> was raised for a task at a due time, so it is raised again only when that changes.</summary>
public sealed class TaskOverdueMark
{
    public Guid TaskId { get; set; }

    public DateTimeOffset DueAt { get; set; }

    public DateTimeOffset RaisedAt { get; set; }
}
