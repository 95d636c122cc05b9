using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public enum WebhookEndpointStatus
{
    Enabled,
    Disabled,
}

/// <summary>A URL of the customer's own systems that receives signed domain events (docs/WORKFLOWS.md, "Outgoing webhooks").</summary>
public sealed class WebhookEndpoint : TenantEntity
{
    public required string Url { get; set; }

    public List<string> Events { get; set; } = [];

    /// <summary>The <c>whsec_</c> signing secret as Data Protection ciphertext; shown in clear once, at creation.</summary>
    public required string ProtectedSecret { get; set; }

    public WebhookEndpointStatus Status { get; set; }

    public DateTimeOffset? DisabledAt { get; set; }

    public string? DisabledReason { get; set; }
}

public enum WebhookDeliveryStatus
{
    Pending,
    Succeeded,
    Failed,
}

/// <summary>One event for one endpoint: the signed message, its retry state and the outcome of its last attempt.</summary>
public sealed class WebhookDelivery
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>Database-assigned, increasing: the delivery log's order and cursor.</summary>
    public long Sequence { get; set; }

    public Guid EndpointId { get; set; }

    public Guid EventId { get; set; }

    /// <summary>The workflow run that called the endpoint (a "call webhook" action); null for a subscription's delivery.</summary>
    public Guid? WorkflowRunId { get; set; }

    public required string EventType { get; set; }

    /// <summary>The exact body sent (and signed) on every attempt.</summary>
    public required string Payload { get; set; }

    public WebhookDeliveryStatus Status { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }

    public DateTimeOffset? LastAttemptAt { get; set; }

    public int? LastResponseStatus { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset? DeliveredAt { get; set; }

    public List<WebhookDeliveryAttempt> AttemptLog { get; set; } = [];
}

/// <summary>One HTTP attempt of a delivery: when, the response status (none when the request failed) and why it failed.</summary>
public sealed class WebhookDeliveryAttempt
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid DeliveryId { get; set; }

    public DateTimeOffset AttemptedAt { get; set; }

    public int? ResponseStatus { get; set; }

    public string? Error { get; set; }

    public int DurationMs { get; set; }

    /// <summary>True for an attempt an admin asked for (redeliver), false for the first try and automatic retries.</summary>
    public bool Manual { get; set; }
}
