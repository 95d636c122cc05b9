using System.ComponentModel;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Workflows;

/// <summary>
/// A consumer of the organization's domain events (webhooks, Slack notifications). It gets each event once: it writes its own
/// work in the transaction that also records the event as consumed by it, and returns what to do after that commit.
/// </summary>
public interface IDomainEventConsumer
{
    /// <summary>Stable key of the consumer in <c>domain_event_consumptions</c>; never renamed.</summary>
    string Name { get; }

    Task<Action?> ConsumeAsync(Guid organizationId, TenantDbContext db, IReadOnlyList<DomainEvent> events,
        CancellationToken cancellationToken);
}

/// <summary>Queues an organization's dispatcher (after a commit that wrote events); a failure leaves the events for the next run.</summary>
public sealed partial class DomainEventDispatchQueue(IServiceProvider services, ILogger<DomainEventDispatchQueue> logger)
{
    public void Enqueue(Guid organizationId)
    {
        if (services.GetService<IBackgroundJobClient>() is not { } jobs)
        {
            return;
        }

        try
        {
            jobs.Create<DomainEventDispatchJob>(job => job.DispatchAsync(organizationId, CancellationToken.None),
                new EnqueuedState(HangfireStorage.DefaultQueue));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, exception, organizationId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Could not queue the event dispatcher of organization {OrganizationId}; its next change or the sweep will")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid organizationId);
}

/// <summary>
/// Hands an organization's undelivered domain events to every consumer, in order, in batches (docs/adr/0020-domain-event-outbox.md).
/// Per consumer a transaction-scoped advisory lock serializes dispatchers of the same organization, so two runs never hand the
/// same event to the same consumer; a consumer that fails leaves its batch unconsumed and Hangfire retries the job.
/// </summary>
public sealed partial class DomainEventDispatchJob(
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    IEnumerable<IDomainEventConsumer> consumers,
    TimeProvider clock,
    ILogger<DomainEventDispatchJob> logger)
{
    public const int BatchSize = 100;

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 10, DelaysInSeconds = [10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 28800])]
    [DisplayName("Dispatch domain events of {0}")]
    public async Task<int> DispatchAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        var dispatched = 0;
        foreach (var consumer in consumers)
        {
            dispatched = Math.Max(dispatched, await DispatchAsync(organizationId, consumer, cancellationToken));
        }

        // The number of events handed on (each consumer gets each event once, so usually every consumer got these).
        return dispatched;
    }

    private async Task<int> DispatchAsync(Guid organizationId, IDomainEventConsumer consumer, CancellationToken cancellationToken)
    {
        var handed = 0;
        while (true)
        {
            Action? afterCommit;
            int count;
            await using (var db = contexts.CreateForCurrentScope())
            {
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                // Waits for a concurrent dispatcher of this consumer to commit, then sees what is still unconsumed.
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"domain-events:" + consumer.Name}))",
                    cancellationToken);
                var batch = await db.DomainEvents.FromSql(
                        $"""
                         SELECT e.* FROM domain_events e
                         WHERE NOT EXISTS (SELECT 1 FROM domain_event_consumptions c
                                           WHERE c.consumer = {consumer.Name} AND c.event_id = e.id)
                         ORDER BY e.occurred_at, e.id
                         LIMIT {BatchSize}
                         """)
                    .AsNoTracking().ToListAsync(cancellationToken);
                if (batch.Count == 0)
                {
                    return handed;
                }

                try
                {
                    afterCommit = await consumer.ConsumeAsync(organizationId, db, batch, cancellationToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogConsumerFailed(logger, exception, consumer.Name, organizationId);
                    throw;
                }

                var now = clock.GetUtcNow();
                db.DomainEventConsumptions.AddRange(batch.Select(e => new DomainEventConsumption
                {
                    Consumer = consumer.Name,
                    EventId = e.Id,
                    ConsumedAt = now,
                }));
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                count = batch.Count;
            }

            afterCommit?.Invoke();
            handed += count;
            if (count < BatchSize)
            {
                return handed;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Domain event consumer {Consumer} failed for organization {OrganizationId}; the batch stays and is retried")]
    private static partial void LogConsumerFailed(ILogger logger, Exception exception, string consumer, Guid organizationId);
}
