using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>
/// Releases AI token reservations whose process died between reserve and settle (ADR 0019; ADR 0023): an event still
/// unsettled past its <c>settle_by</c> is deleted and its quantity taken off the month's rollup, so a crash no longer
/// keeps the tokens counted. A month already reported to Stripe keeps them (the rollup must match what was sent); only
/// the mark is cleared. Rows are claimed with <c>FOR UPDATE SKIP LOCKED</c>, so a settle in flight is never undone.
/// </summary>
public sealed partial class UsageReservationSweepJob(IDbContextFactory<CatalogDbContext> catalog, TimeProvider clock,
    ILogger<UsageReservationSweepJob> logger)
{
    public const string RecurringJobId = "billing-usage-reservation-sweep";
    private const int BatchSize = 200;

    [Queue(HangfireStorage.MaintenanceQueue)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var released = 0;
        while (true)
        {
            await using var db = await catalog.CreateDbContextAsync(cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var expired = await db.UsageEvents
                .FromSql($"SELECT * FROM usage_events WHERE settle_by < {now} ORDER BY settle_by LIMIT {BatchSize} FOR UPDATE SKIP LOCKED")
                .AsNoTracking().Select(e => new { e.Id, e.RollupId, e.Quantity, e.OrganizationId }).ToListAsync(cancellationToken);
            if (expired.Count == 0)
            {
                await transaction.CommitAsync(cancellationToken);
                return released;
            }

            var rollupIds = expired.Select(e => e.RollupId).Distinct().ToList();
            var reported = await db.UsageRollups.Where(r => rollupIds.Contains(r.Id) && r.ReportedAt != null)
                .Select(r => r.Id).ToListAsync(cancellationToken);
            foreach (var rollup in expired.GroupBy(e => e.RollupId))
            {
                var ids = rollup.Select(e => e.Id).ToList();
                if (reported.Contains(rollup.Key))
                {
                    await db.UsageEvents.Where(e => ids.Contains(e.Id))
                        .ExecuteUpdateAsync(u => u.SetProperty(e => e.SettleBy, (DateTimeOffset?)null), cancellationToken);
                    continue;
                }

                var quantity = rollup.Sum(e => e.Quantity);
                await db.UsageEvents.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(cancellationToken);
                await db.UsageRollups.Where(r => r.Id == rollup.Key)
                    .ExecuteUpdateAsync(u => u.SetProperty(r => r.Quantity, r => r.Quantity - quantity), cancellationToken);
                released += ids.Count;
                LogReleased(logger, ids.Count, quantity, rollup.First().OrganizationId);
            }

            await transaction.CommitAsync(cancellationToken);
            if (expired.Count < BatchSize)
            {
                return released;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Released {Count} unsettled AI token reservations ({Quantity} tokens) of organization {OrganizationId}")]
    private static partial void LogReleased(ILogger logger, int count, long quantity, Guid organizationId);
}
