using System.ComponentModel;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// Re-queues inbox deliveries that nothing is processing: unprocessed, never attempted (<c>attempts = 0</c>: the job could not
/// be queued, or its worker died before committing) and older than <see cref="Grace"/>. Every 10 minutes. A delivery whose job
/// is merely late gets a second job, which is harmless: <see cref="IntegrationWebhookJob"/> locks the row and skips a processed
/// one, so a delivery is still processed once. Deliveries that failed (<c>attempts &gt; 0</c>) belong to Hangfire's retries.
/// </summary>
public sealed partial class WebhookInboxSweepJob(
    IDbContextFactory<CatalogDbContext> catalog,
    WebhookInbox inbox,
    TimeProvider clock,
    ILogger<WebhookInboxSweepJob> logger)
{
    public const string RecurringJobId = "integration-webhook-inbox-sweep";
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(15);
    private const int BatchSize = 500;

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Re-queue stranded webhook deliveries")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow() - Grace;
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var stranded = await db.IntegrationWebhookInbox.AsNoTracking()
            .Where(d => d.ProcessedAt == null && d.Attempts == 0 && d.ReceivedAt < cutoff)
            .OrderBy(d => d.ReceivedAt).Take(BatchSize)
            .Select(d => new { d.Provider, d.EventId }).ToListAsync(cancellationToken);
        foreach (var delivery in stranded)
        {
            inbox.Enqueue(delivery.Provider, delivery.EventId);
        }

        if (stranded.Count > 0)
        {
            LogRequeued(logger, stranded.Count);
        }

        return stranded.Count;
    }

    /// <summary>Registers the recurring job (every 10 minutes).</summary>
    public static void Register(IRecurringJobManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        manager.AddOrUpdate<WebhookInboxSweepJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), "*/10 * * * *");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} webhook deliveries were stranded in the inbox and have been queued again")]
    private static partial void LogRequeued(ILogger logger, int count);
}
