using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Webhooks;

/// <summary>An outgoing webhook endpoint as the API returns it (docs/API.md, "Outgoing webhooks"); never its secret.</summary>
public sealed record WebhookEndpointDto(
    Guid Id,
    string Url,
    IReadOnlyList<string> Events,
    WebhookEndpointStatus Status,
    DateTimeOffset? DisabledAt,
    string? DisabledReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static WebhookEndpointDto From(WebhookEndpoint endpoint) => new(
        endpoint.Id, endpoint.Url, endpoint.Events, endpoint.Status, endpoint.DisabledAt, endpoint.DisabledReason, endpoint.CreatedAt,
        endpoint.UpdatedAt)
    {
        Version = endpoint.Version,
    };
}

/// <summary>The answer to creating an endpoint: the endpoint and its signing secret, which is never shown again.</summary>
public sealed record CreatedWebhookEndpointDto(
    Guid Id,
    string Url,
    IReadOnlyList<string> Events,
    WebhookEndpointStatus Status,
    string Secret,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }
}

/// <summary>One event sent (or being sent) to an endpoint, with its attempts, newest first.</summary>
public sealed record WebhookDeliveryDto(
    Guid Id,
    Guid EventId,
    string EventType,
    WebhookDeliveryStatus Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? LastAttemptAt,
    int? LastResponseStatus,
    string? LastError,
    DateTimeOffset? DeliveredAt,
    IReadOnlyList<WebhookAttemptDto> AttemptLog);

public sealed record WebhookAttemptDto(DateTimeOffset AttemptedAt, int? ResponseStatus, string? Error, int DurationMs, bool Manual);

/// <summary>The fields a client writes: the target URL and the event names it subscribes to.</summary>
public sealed record WebhookEndpointFields(string? Url, IReadOnlyList<string>? Events);

public static class WebhookEndpointRecord
{
    public const string Resource = "Webhook endpoint";
}
