using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>
/// Suspends organizations whose subscription stayed past due longer than <c>PastDueGraceDays</c>; a payment resumes them.
/// </summary>
public sealed partial class BillingDunningJob(IDbContextFactory<CatalogDbContext> catalog, IOptions<StripeOptions> options,
    TimeProvider clock, ILogger<BillingDunningJob> logger)
{
    public const string RecurringJobId = "billing-dunning";

    [Queue(HangfireStorage.MaintenanceQueue)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var deadline = now - TimeSpan.FromDays(options.Value.PastDueGraceDays);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var overdue = await db.Subscriptions
            .Where(s => s.Status == SubscriptionStatuses.PastDue && s.PastDueSince != null && s.PastDueSince <= deadline
                && !s.SuspendedForNonPayment)
            .Join(db.Organizations.Where(o => o.Status == OrganizationStatus.Active), s => s.OrganizationId, o => o.Id,
                (s, o) => new { Subscription = s, Organization = o })
            .ToListAsync(cancellationToken);
        foreach (var row in overdue)
        {
            row.Organization.Suspend(now);
            row.Subscription.SuspendedForNonPayment = true;
            row.Subscription.UpdatedAt = now;
            LogSuspended(logger, row.Organization.Id, row.Subscription.PastDueSince!.Value);
        }

        await db.SaveChangesAsync(cancellationToken);
        return overdue.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Suspended organization {OrganizationId}: subscription past due since {PastDueSince:o}")]
    private static partial void LogSuspended(ILogger logger, Guid organizationId, DateTimeOffset pastDueSince);
}

/// <summary>Sends each closed period's AI token usage to Stripe's billing meter, once (the rollup id is the event identifier).</summary>
public sealed class UsageReportingJob(IDbContextFactory<CatalogDbContext> catalog, StripePaymentProvider stripe, TimeProvider clock)
{
    public const string RecurringJobId = "billing-usage-reporting";

    [Queue(HangfireStorage.MaintenanceQueue)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!stripe.IsConfigured)
        {
            return 0;
        }

        var now = clock.GetUtcNow();
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var due = await db.UsageRollups
            .Where(r => r.ReportedAt == null && r.PeriodEnd <= now && r.Metric == UsageMetrics.AiTokens)
            .GroupJoin(db.Subscriptions, r => r.OrganizationId, s => s.OrganizationId, (r, s) => new { Rollup = r, s })
            .SelectMany(x => x.s.DefaultIfEmpty(), (x, s) => new { x.Rollup, CustomerId = s != null ? s.StripeCustomerId : null })
            .OrderBy(x => x.Rollup.PeriodEnd)
            .Take(500)
            .ToListAsync(cancellationToken);
        var reported = 0;
        foreach (var row in due)
        {
            if (row.CustomerId is not null && row.Rollup.Quantity > 0)
            {
                // Repeating this call after a crash is harmless: Stripe deduplicates on the identifier and the idempotency key.
                await stripe.ReportUsageAsync(row.Rollup.Id, row.CustomerId, row.Rollup.Quantity, row.Rollup.PeriodEnd.AddSeconds(-1),
                    cancellationToken);
                reported++;
            }

            row.Rollup.ReportedAt = now;
            await db.SaveChangesAsync(cancellationToken);
        }

        return reported;
    }
}

/// <summary>Registers the billing recurring jobs when a job server starts (worker).</summary>
public sealed class BillingJobScheduler(IRecurringJobManager jobs) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        jobs.AddOrUpdate<BillingDunningJob>(BillingDunningJob.RecurringJobId, HangfireStorage.MaintenanceQueue,
            job => job.RunAsync(CancellationToken.None), "*/15 * * * *", options);
        jobs.AddOrUpdate<UsageReportingJob>(UsageReportingJob.RecurringJobId, HangfireStorage.MaintenanceQueue,
            job => job.RunAsync(CancellationToken.None), "7 * * * *", options);
        jobs.AddOrUpdate<UsageReservationSweepJob>(UsageReservationSweepJob.RecurringJobId, HangfireStorage.MaintenanceQueue,
            job => job.RunAsync(CancellationToken.None), "*/10 * * * *", options);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
