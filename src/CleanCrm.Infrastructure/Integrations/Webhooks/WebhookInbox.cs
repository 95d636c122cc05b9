using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Hangfire.States;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>What a webhook delivery got: the HTTP answer follows from it (docs/INTEGRATIONS.md, "Webhooks").</summary>
public enum WebhookReceipt
{
    /// <summary>Recorded in the inbox and handed to the job: 200.</summary>
    Accepted,

    /// <summary>Already in the inbox (a redelivery or retry): 200, not processed again.</summary>
    Duplicate,

    /// <summary>Answered without recording (Slack's url_verification, an event type nobody handles): 200.</summary>
    Answered,

    /// <summary>The signature, channel token or timestamp does not verify: 401, nothing stored.</summary>
    InvalidSignature,

    /// <summary>No connection of that provider with that id (or team, or channel): 404, nothing stored.</summary>
    UnknownConnection,
}

/// <summary>
/// The webhook inbox: one row per provider event id (<c>ON CONFLICT DO NOTHING</c>, so concurrent redeliveries record once),
/// the payload as Data Protection ciphertext, then a job to process it. Only verified deliveries get here.
/// </summary>
public sealed partial class WebhookInbox(
    IDbContextFactory<CatalogDbContext> catalog,
    IDataProtectionProvider dataProtection,
    IServiceProvider services,
    IntegrationMetrics metrics,
    TimeProvider clock,
    ILogger<WebhookInbox> logger)
{
    internal const string ProtectorPurpose = "CleanCrm.Integrations.Webhook.v1";

    private readonly IDataProtector _protector = dataProtection.CreateProtector(ProtectorPurpose);

    public async Task<WebhookReceipt> RecordAsync(IntegrationConnection connection, string eventId, string type, string payload,
        CancellationToken cancellationToken)
    {
        var provider = connection.Provider;
        eventId = eventId.Length <= 255 ? eventId : eventId[..255];
        type = type.Length <= 100 ? type : type[..100];
        var protectedPayload = _protector.Protect(payload);
        var now = clock.GetUtcNow();
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var inserted = await db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO integration_webhook_inbox
                 (provider, event_id, connection_id, organization_id, type, protected_payload, received_at, attempts)
             VALUES ({provider}, {eventId}, {connection.Id}, {connection.OrganizationId}, {type}, {protectedPayload}, {now}, 0)
             ON CONFLICT DO NOTHING
             """,
            cancellationToken);
        if (inserted == 0)
        {
            metrics.Received(provider, "duplicate");
            return WebhookReceipt.Duplicate;
        }

        Enqueue(provider, eventId);
        metrics.Received(provider, "accepted");
        return WebhookReceipt.Accepted;
    }

    public string Unprotect(string protectedPayload) => _protector.Unprotect(protectedPayload);

    /// <summary>Hands a recorded delivery to the job; when queuing fails the row stays unprocessed in the inbox (logged).</summary>
    public void Enqueue(string provider, string eventId)
    {
        if (services.GetService<IBackgroundJobClient>() is not { } jobs)
        {
            return;
        }

        try
        {
            jobs.Create<IntegrationWebhookJob>(job => job.ProcessAsync(provider, eventId, CancellationToken.None),
                new EnqueuedState(HangfireStorage.DefaultQueue));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, exception, provider);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue a {Provider} webhook delivery; it stays unprocessed in the inbox")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, string provider);
}
