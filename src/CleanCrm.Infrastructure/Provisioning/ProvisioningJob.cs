using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>The Hangfire job the worker runs on the <c>provisioning</c> queue. Retries live in the runner, not Hangfire.</summary>
public sealed class ProvisioningJob(ProvisioningRunner runner)
{
    [AutomaticRetry(Attempts = 0)]
    [Queue(HangfireStorage.ProvisioningQueue)]
    public async Task RunAsync(Guid runId, CancellationToken cancellationToken) => await runner.RunAsync(runId, cancellationToken);
}

/// <summary>Enqueues runs on Hangfire and stamps <c>queued_at</c>; a failure here is logged and left to the sweeper.</summary>
public sealed partial class HangfireProvisioningQueue(
    IBackgroundJobClient jobs,
    IDbContextFactory<CatalogDbContext> catalogFactory,
    TimeProvider clock,
    ILogger<HangfireProvisioningQueue> logger) : IProvisioningQueue
{
    public async Task EnqueueAsync(Guid runId, CancellationToken cancellationToken)
    {
        try
        {
            jobs.Create<ProvisioningJob>(job => job.RunAsync(runId, CancellationToken.None),
                new EnqueuedState(HangfireStorage.ProvisioningQueue));
            await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
            var now = clock.GetUtcNow();
            await db.ProvisioningRuns.Where(r => r.Id == runId)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.QueuedAt, now), cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The run row is the outbox: the worker's sweeper queues it shortly.
            LogEnqueueFailed(logger, exception, runId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue provisioning run {RunId}; the outbox sweeper will")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid runId);
}

/// <summary>
/// The outbox sweeper (worker only): queues runs accepted but never queued (a crash between commit and enqueue), and
/// re-queues runs left "running" by a worker that died (nobody holds their org lock).
/// </summary>
public sealed partial class ProvisioningOutboxSweeper(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IProvisioningQueue queue,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<ProvisioningOutboxSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.RequeueAfterSeconds / 2.0)), clock);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogSweepFailed(logger, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow().AddSeconds(-options.Value.RequeueAfterSeconds);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var candidates = await db.ProvisioningRuns.AsNoTracking()
            .Where(r => (r.Status == ProvisioningStatus.Pending && (r.QueuedAt == null || r.QueuedAt < cutoff) && r.CreatedAt < cutoff)
                        || (r.Status == ProvisioningStatus.Running && r.QueuedAt < cutoff))
            .Select(r => new { r.Id, r.OrganizationId })
            .Take(100)
            .ToListAsync(cancellationToken);
        var queued = 0;
        foreach (var candidate in candidates)
        {
            await using (var orgLock = await OrganizationLock.TryAcquireAsync(catalogOptions.Value.ConnectionString!,
                candidate.OrganizationId, cancellationToken))
            {
                if (orgLock is null)
                {
                    continue;
                }
            }

            await queue.EnqueueAsync(candidate.Id, cancellationToken);
            queued++;
        }

        return queued;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning outbox sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
