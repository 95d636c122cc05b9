using System.ComponentModel;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>What a provider's deliveries do to the CRM; one handler per provider (docs/INTEGRATIONS.md).</summary>
public interface IWebhookHandler
{
    string Provider { get; }

    Task HandleAsync(IntegrationConnection connection, string type, string payload, CancellationToken cancellationToken);
}

/// <summary>
/// Processes one inbox delivery, once: the row is locked while it runs (a second worker skips it) and marked processed with
/// its payload cleared when done. A failure is recorded on the row and rethrown, so Hangfire retries it with back-off.
/// </summary>
public sealed partial class IntegrationWebhookJob(
    IDbContextFactory<CatalogDbContext> catalog,
    WebhookInbox inbox,
    IEnumerable<IWebhookHandler> handlers,
    IntegrationMetrics metrics,
    TimeProvider clock,
    ILogger<IntegrationWebhookJob> logger)
{
    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 6, DelaysInSeconds = [30, 120, 600, 1800, 3600, 7200])]
    [DisplayName("Process {0} webhook {1}")]
    public async Task ProcessAsync(string provider, string eventId, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var delivery = await db.IntegrationWebhookInbox
            .FromSql($"SELECT * FROM integration_webhook_inbox WHERE provider = {provider} AND event_id = {eventId} FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        if (delivery is null || delivery.ProcessedAt is not null)
        {
            return;
        }

        delivery.Attempts++;
        var connection = delivery.ConnectionId is { } connectionId
            ? await db.IntegrationConnections.AsNoTracking().FirstOrDefaultAsync(c => c.Id == connectionId, cancellationToken)
            : null;
        try
        {
            // A connection removed since the delivery arrived gets nothing written for it.
            if (connection is not null && delivery.ProtectedPayload is { } protectedPayload
                && handlers.FirstOrDefault(h => h.Provider == provider) is { } handler)
            {
                await handler.HandleAsync(connection, delivery.Type, inbox.Unprotect(protectedPayload), cancellationToken);
            }

            delivery.ProcessedAt = clock.GetUtcNow();
            delivery.ProtectedPayload = null;
            delivery.LastError = null;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            delivery.LastError = Truncate($"{exception.GetType().Name}: {exception.Message}");
            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            metrics.Failed(provider);
            LogFailed(logger, exception, provider, delivery.Attempts);
            throw;
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static string Truncate(string value) => value.Length <= 500 ? value : value[..500];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Processing a {Provider} webhook failed (attempt {Attempt}); retried with back-off")]
    private static partial void LogFailed(ILogger logger, Exception exception, string provider, int attempt);
}
