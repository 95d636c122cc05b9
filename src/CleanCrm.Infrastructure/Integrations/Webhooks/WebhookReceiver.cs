using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>The answer to a webhook delivery: the receipt and, for Slack's url_verification, the challenge to echo.</summary>
public sealed record WebhookAnswer(WebhookReceipt Receipt, string? Challenge = null);

/// <summary>
/// Receives the four providers' webhooks: finds the connection, verifies the raw body (or Google's channel token) before
/// anything is parsed, and records the delivery in the <see cref="WebhookInbox"/> under the provider's event id.
/// </summary>
public sealed partial class WebhookReceiver(
    IDbContextFactory<CatalogDbContext> catalog,
    IntegrationTokenStore tokens,
    WebhookInbox inbox,
    IOptions<IntegrationOptions> options,
    IntegrationMetrics metrics,
    TimeProvider clock,
    ILogger<WebhookReceiver> logger)
{
    /// <summary>Keys of <see cref="IntegrationTokens.Extra"/> holding webhook credentials set up on connect.</summary>
    public const string WebhookSecretKey = "webhook_secret";
    public const string ChannelIdKey = "channel_id";
    public const string ChannelTokenKey = "channel_token";

    /// <summary>Fathom (Standard Webhooks): the event id is <c>webhook-id</c>, which a redelivery repeats.</summary>
    public async Task<WebhookAnswer> FathomAsync(Guid connectionId, string? id, string? timestamp, string? signature, byte[] body,
        CancellationToken cancellationToken)
    {
        var (connection, stored) = await FindAsync(IntegrationProviders.Fathom, connectionId, cancellationToken);
        if (connection is null)
        {
            return Unknown(IntegrationProviders.Fathom);
        }

        if (stored?.Extra.GetValueOrDefault(WebhookSecretKey) is not { Length: > 0 } secret
            || !WebhookSignatures.VerifyStandardWebhook(secret, id, timestamp, signature, body, clock.GetUtcNow()))
        {
            return Invalid(IntegrationProviders.Fathom);
        }

        return new WebhookAnswer(await inbox.RecordAsync(connection, id!, "new_meeting_content_ready", Text(body), cancellationToken));
    }

    /// <summary>SavvyCal: no timestamp in the scheme, so replays are stopped by deduplicating on the envelope id.</summary>
    public async Task<WebhookAnswer> SavvyCalAsync(Guid connectionId, string? signature, byte[] body, CancellationToken cancellationToken)
    {
        var (connection, stored) = await FindAsync(IntegrationProviders.SavvyCal, connectionId, cancellationToken);
        if (connection is null)
        {
            return Unknown(IntegrationProviders.SavvyCal);
        }

        if (stored?.Extra.GetValueOrDefault(WebhookSecretKey) is not { Length: > 0 } secret
            || !WebhookSignatures.VerifySavvyCal(secret, signature, body))
        {
            return Invalid(IntegrationProviders.SavvyCal);
        }

        var (eventId, type) = Envelope(body, "id", "type");
        return eventId is null || type is null
            ? Answered(IntegrationProviders.SavvyCal)
            : new WebhookAnswer(await inbox.RecordAsync(connection, eventId, type, Text(body), cancellationToken));
    }

    /// <summary>
    /// Slack Events API: signed with the app's signing secret; <c>url_verification</c> echoes the challenge; an event callback
    /// is routed by <c>team_id</c> and deduplicated by <c>event_id</c> (Slack retries with <c>X-Slack-Retry-Num</c>).
    /// </summary>
    public async Task<WebhookAnswer> SlackAsync(string? timestamp, string? signature, byte[] body, CancellationToken cancellationToken)
    {
        var secret = options.Value.Slack.SigningSecret;
        if (string.IsNullOrEmpty(secret) || !WebhookSignatures.VerifySlack(secret, timestamp, signature, body, clock.GetUtcNow()))
        {
            return Invalid(IntegrationProviders.Slack);
        }

        using var document = Parse(body);
        var root = document?.RootElement;
        var type = Property(root, "type");
        if (type == "url_verification")
        {
            metrics.Received(IntegrationProviders.Slack, "url_verification");
            return new WebhookAnswer(WebhookReceipt.Answered, Property(root, "challenge"));
        }

        var teamId = Property(root, "team_id");
        var eventId = Property(root, "event_id");
        if (type != "event_callback" || teamId is null || eventId is null)
        {
            return Answered(IntegrationProviders.Slack);
        }

        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections.AsNoTracking()
            .FirstOrDefaultAsync(c => c.Provider == IntegrationProviders.Slack && c.ExternalAccountId == teamId, cancellationToken);
        if (connection is null)
        {
            return Unknown(IntegrationProviders.Slack);
        }

        var eventType = root is { } r && r.TryGetProperty("event", out var inner) ? Property(inner, "type") ?? type : type;
        return new WebhookAnswer(await inbox.RecordAsync(connection, eventId, eventType, Text(body), cancellationToken));
    }

    /// <summary>
    /// Google Calendar push: no body and no signature; the channel id we created names the connection and the channel token we
    /// set proves the sender. The event id is channel id + message number (Google numbers each channel's messages).
    /// </summary>
    public async Task<WebhookAnswer> GoogleAsync(string? channelId, string? channelToken, string? resourceState, string? messageNumber,
        CancellationToken cancellationToken)
    {
        var connectionId = GoogleChannels.ConnectionIdOf(channelId);
        var (connection, stored) = connectionId is { } id
            ? await FindAsync(IntegrationProviders.Google, id, cancellationToken)
            : (null, null);
        if (connection is null || stored?.Extra.GetValueOrDefault(ChannelIdKey) != channelId)
        {
            return Unknown(IntegrationProviders.Google);
        }

        if (stored?.Extra.GetValueOrDefault(ChannelTokenKey) is not { Length: > 0 } expected
            || !WebhookSignatures.SecretEquals(channelToken, expected))
        {
            return Invalid(IntegrationProviders.Google);
        }

        if (resourceState is not ("sync" or "exists" or "not_exists") || string.IsNullOrEmpty(messageNumber))
        {
            return Answered(IntegrationProviders.Google);
        }

        return new WebhookAnswer(await inbox.RecordAsync(connection, $"{channelId}:{messageNumber}", resourceState, "{}",
            cancellationToken));
    }

    private async Task<(IntegrationConnection? Connection, IntegrationTokens? Tokens)> FindAsync(string provider, Guid connectionId,
        CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections.AsNoTracking()
            .FirstOrDefaultAsync(c => c.Id == connectionId && c.Provider == provider, cancellationToken);
        return connection is null ? (null, null) : (connection, await tokens.GetAsync(connection.Id, cancellationToken));
    }

    private WebhookAnswer Unknown(string provider)
    {
        metrics.Received(provider, "unknown_connection");
        return new WebhookAnswer(WebhookReceipt.UnknownConnection);
    }

    private WebhookAnswer Invalid(string provider)
    {
        metrics.Received(provider, "invalid_signature");
        LogInvalid(logger, provider);
        return new WebhookAnswer(WebhookReceipt.InvalidSignature);
    }

    private WebhookAnswer Answered(string provider)
    {
        metrics.Received(provider, "ignored");
        return new WebhookAnswer(WebhookReceipt.Answered);
    }

    private static (string? First, string? Second) Envelope(byte[] body, string first, string second)
    {
        using var document = Parse(body);
        return (Property(document?.RootElement, first), Property(document?.RootElement, second));
    }

    private static JsonDocument? Parse(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Property(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static string Text(byte[] body) => Encoding.UTF8.GetString(body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider} webhook refused: signature, token or timestamp did not verify")]
    private static partial void LogInvalid(ILogger logger, string provider);
}
