namespace CleanCrm.Domain.Tenant;

/// <summary>The names of the domain events a tenant database records in its outbox (docs/WORKFLOWS.md, "Events").</summary>
public static class DomainEventTypes
{
    public const string DealCreated = "deal.created";
    public const string DealStageChanged = "deal.stage_changed";
    public const string DealWon = "deal.won";
    public const string DealLost = "deal.lost";
    public const string ContactCreated = "contact.created";
    public const string MeetingSummarized = "meeting.summarized";

    public static readonly IReadOnlyList<string> All =
        [DealCreated, DealStageChanged, DealWon, DealLost, ContactCreated, MeetingSummarized];
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
        [DomainEventTypes.DealWon, DomainEventTypes.DealLost, DomainEventTypes.DealStageChanged, DomainEventTypes.MeetingSummarized];

    public int Id { get; set; } = SingletonId;

    public List<string> Events { get; set; } = [];

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedBy { get; set; }
}
