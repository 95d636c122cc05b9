using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Tasks;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Workflows;

public sealed class WorkflowOptions
{
    public const string SectionName = "CleanCrm:Workflows";

    /// <summary>Days a domain event is kept once every consumer handled it (docs/WORKFLOWS.md, "Retention").</summary>
    [Range(1, 3650)]
    public int EventRetentionDays { get; set; } = 30;
}

/// <summary>
/// Hourly, fleet-wide (as the backup schedule): queues <see cref="OutboxMaintenanceJob"/> for every active organization, each
/// as its own job, so one tenant's failure or slowness does not hold up the others.
/// </summary>
public sealed partial class OutboxMaintenanceScheduleJob(
    IDbContextFactory<CatalogDbContext> catalog,
    IBackgroundJobClient jobs,
    ILogger<OutboxMaintenanceScheduleJob> logger)
{
    public const string RecurringJobId = "outbox-maintenance-schedule";

    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Queue the outbox maintenance (overdue tasks, retention) of every organization")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var organizations = await db.Organizations.AsNoTracking()
            .Where(o => o.Status == OrganizationStatus.Active && o.DatabaseServerId != null)
            .OrderBy(o => o.Id).Select(o => o.Id).ToListAsync(cancellationToken);
        foreach (var organizationId in organizations)
        {
            jobs.Enqueue<OutboxMaintenanceJob>(HangfireStorage.MaintenanceQueue,
                job => job.RunAsync(organizationId, CancellationToken.None));
        }

        LogQueued(logger, organizations.Count);
        return organizations.Count;
    }

    /// <summary>Registers the recurring job (hourly, at minute 29: away from the backup and size jobs).</summary>
    public static void Register(IRecurringJobManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        manager.AddOrUpdate<OutboxMaintenanceScheduleJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), "29 * * * *");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued the outbox maintenance of {Count} organizations")]
    private static partial void LogQueued(ILogger logger, int count);
}

/// <summary>What one organization's maintenance did.</summary>
public sealed record OutboxMaintenanceResult(int OverdueRaised, int EventsDeleted);

/// <summary>
/// One organization's outbox maintenance: raises <c>task.overdue</c> once per open task whose due time passed (remembered in
/// <c>task_overdue_marks</c> with that due time, so a new due time raises it again), when a consumer can use it (feature
/// <c>workflows</c> or <c>slack_integration</c>); and deletes events older than the retention that every consumer handled.
/// </summary>
public sealed partial class OutboxMaintenanceJob(
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    IFeatures features,
    IEnumerable<IDomainEventConsumer> consumers,
    IOptions<WorkflowOptions> options,
    TimeProvider clock,
    ILogger<OutboxMaintenanceJob> logger)
{
    public const int OverdueBatch = 500;

    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [300, 1800])]
    [DisplayName("Outbox maintenance of {0}")]
    public async Task<OutboxMaintenanceResult> RunAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        var raised = 0;
        if (await features.IsEnabledAsync(organizationId, PremiumFeatures.Workflows, cancellationToken)
            || await features.IsEnabledAsync(organizationId, PremiumFeatures.SlackIntegration, cancellationToken))
        {
            raised = await RaiseOverdueAsync(cancellationToken);
        }

        var deleted = await PruneAsync(cancellationToken);
        if (raised + deleted > 0)
        {
            LogDone(logger, organizationId, raised, deleted);
        }

        return new OutboxMaintenanceResult(raised, deleted);
    }

    /// <summary>Raises <c>task.overdue</c> for open tasks past due that were not raised for this due time; returns how many.</summary>
    public async Task<int> RaiseOverdueAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = contexts.CreateForCurrentScope();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var tasks = await db.Tasks.AsNoTracking()
            .Where(t => t.DeletedAt == null && (t.Status == CrmTaskStatus.Open || t.Status == CrmTaskStatus.InProgress)
                        && t.DueAt != null && t.DueAt <= now
                        && !db.TaskOverdueMarks.Any(m => m.TaskId == t.Id && m.DueAt == t.DueAt))
            .OrderBy(t => t.DueAt).ThenBy(t => t.Id).Take(OverdueBatch).ToListAsync(cancellationToken);
        if (tasks.Count == 0)
        {
            return 0;
        }

        var ids = tasks.Select(t => t.Id).ToList();
        var marks = await db.TaskOverdueMarks.Where(m => ids.Contains(m.TaskId)).ToDictionaryAsync(m => m.TaskId, cancellationToken);
        foreach (var task in tasks)
        {
            if (marks.TryGetValue(task.Id, out var mark))
            {
                mark.DueAt = task.DueAt!.Value;
                mark.RaisedAt = now;
            }
            else
            {
                db.TaskOverdueMarks.Add(new TaskOverdueMark { TaskId = task.Id, DueAt = task.DueAt!.Value, RaisedAt = now });
            }

            db.DomainEvents.Add(new DomainEvent
            {
                Type = DomainEventTypes.TaskOverdue,
                EntityType = "task",
                EntityId = task.Id,
                OccurredAt = now,
                Data = JsonSerializer.Serialize(TaskDto.From(task), ApiJson.Options),
            });
        }

        // The interceptor queues the dispatcher when this transaction commits.
        db.DomainEventsPending = true;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return tasks.Count;
    }

    /// <summary>Deletes events older than the retention that every consumer handled (their consumption rows go with them).</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow().AddDays(-options.Value.EventRetentionDays);
        var names = consumers.Select(c => c.Name).ToArray();
        await using var db = contexts.CreateForCurrentScope();
        return await db.Database.ExecuteSqlAsync(
            $"""
             DELETE FROM domain_events WHERE id IN (
                 SELECT e.id FROM domain_events e
                 WHERE e.occurred_at < {cutoff}
                   AND (SELECT count(*) FROM domain_event_consumptions c
                        WHERE c.event_id = e.id AND c.consumer = ANY({names})) = {names.Length}
                 LIMIT 10000)
             """,
            cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Outbox maintenance of organization {OrganizationId}: {Raised} task.overdue raised, {Deleted} old events deleted")]
    private static partial void LogDone(ILogger logger, Guid organizationId, int raised, int deleted);
}
