using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Application.Common.Email;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Workflows;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Email;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Workflows;

/// <summary>Queues workflow run attempts (now, or at a retry's time).</summary>
public sealed partial class WorkflowRunQueue(IServiceProvider services, ILogger<WorkflowRunQueue> logger)
{
    // A failure leaves the run pending with its next attempt time; the organization's next dispatcher run queues it again.
    public void Enqueue(Guid organizationId, Guid runId, TimeSpan? delay) =>
        JobQueuing.TryCreate<WorkflowRunJob>(services, job => job.RunAsync(organizationId, runId, CancellationToken.None), delay,
            exception => LogEnqueueFailed(logger, exception, runId));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue workflow run {RunId}; the next dispatch re-queues it")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid runId);
}

/// <summary>
/// The workflows consumer of the outbox (docs/adr/0022-workflows.md): for each event, one run per enabled workflow whose
/// trigger and conditions match, written in the transaction that marks the event consumed; attempts are queued after commit.
/// An event of causation depth <see cref="WorkflowCatalog.MaxDepth"/> or more gets a <c>skipped</c> run instead (loop
/// prevention). Also re-queues runs whose attempt is overdue or whose worker vanished (a lost job). Organizations without
/// the <c>workflows</c> feature get no runs.
/// </summary>
public sealed class WorkflowEventConsumer(IFeatures features, WorkflowRunQueue queue, TimeProvider clock) : IDomainEventConsumer
{
    public const string ConsumerName = "workflows";

    public string Name => ConsumerName;

    public async Task<Action?> ConsumeAsync(Guid organizationId, TenantDbContext db, IReadOnlyList<DomainEvent> events,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stale = now - WorkflowRunJob.Lease;
        var overdue = await db.WorkflowRuns.AsNoTracking()
            .Where(r => (r.Status == WorkflowRunStatus.Pending && r.NextAttemptAt < now.AddMinutes(-5))
                        || (r.Status == WorkflowRunStatus.Running && r.StartedAt < stale))
            .OrderBy(r => r.NextAttemptAt).Select(r => r.Id).Take(100).ToListAsync(cancellationToken);
        var types = events.Select(e => e.Type).Distinct().ToList();
        var workflows = await db.Workflows.AsNoTracking()
            .Where(w => w.DeletedAt == null && w.Enabled && types.Contains(w.TriggerEvent))
            .OrderBy(w => w.CreatedAt).ToListAsync(cancellationToken);
        var created = new List<Guid>();
        if (workflows.Count > 0 && await features.IsEnabledAsync(organizationId, PremiumFeatures.Workflows, cancellationToken))
        {
            foreach (var domainEvent in events)
            {
                using var data = JsonDocument.Parse(domainEvent.Data);
                foreach (var workflow in workflows.Where(w => WorkflowMatching.Matches(w, domainEvent, data.RootElement)))
                {
                    var skipped = domainEvent.Depth >= WorkflowCatalog.MaxDepth;
                    var run = new WorkflowRun
                    {
                        WorkflowId = workflow.Id,
                        EventId = domainEvent.Id,
                        EventType = domainEvent.Type,
                        EntityType = domainEvent.EntityType,
                        EntityId = domainEvent.EntityId,
                        Depth = domainEvent.Depth,
                        Status = skipped ? WorkflowRunStatus.Skipped : WorkflowRunStatus.Pending,
                        CreatedAt = now,
                        NextAttemptAt = skipped ? null : now,
                        FinishedAt = skipped ? now : null,
                        Error = skipped
                            ? $"Not started: the event was caused by workflow runs {domainEvent.Depth} levels deep (the limit is "
                              + $"{WorkflowCatalog.MaxDepth}), so this is treated as a loop."
                            : null,
                    };
                    db.WorkflowRuns.Add(run);
                    if (!skipped)
                    {
                        created.Add(run.Id);
                    }
                }
            }
        }

        return JobQueuing.QueueAfterCommit(created.Concat(overdue), id => queue.Enqueue(organizationId, id, null));
    }
}

/// <summary>
/// One attempt of one workflow run. The run is claimed (<c>running</c>, under its row lock, so a duplicate job does nothing);
/// then each action that has not succeeded yet runs in its own transaction, which also records its result on the run and
/// marks the writes with the run's causation (depth + 1). The first failing action ends the attempt: the run is retried
/// from that action after <see cref="RetryDelays"/> (30 s, 5 min, 30 min, 2 h), then <c>failed</c>. A run whose worker died
/// is taken over after <see cref="Lease"/>.
/// </summary>
public sealed partial class WorkflowRunJob(
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    WorkflowActionRunner runner,
    WorkflowRunQueue queue,
    WebhookDeliveryQueue deliveries,
    TimeProvider clock,
    ILogger<WorkflowRunJob> logger)
{
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan[] RetryDelays =
        [TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2)];

    public static int MaxAttempts => RetryDelays.Length + 1;

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 660, 1800])]
    [DisplayName("Workflow run {1} of {0}")]
    public async Task<WorkflowRunStatus?> RunAsync(Guid organizationId, Guid runId, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        var claimed = await ClaimAsync(runId, cancellationToken);
        if (claimed.Run is not { } run)
        {
            return claimed.Status;
        }

        Workflow? workflow;
        DomainEvent? domainEvent;
        await using (var db = contexts.CreateForCurrentScope())
        {
            workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == run.WorkflowId, cancellationToken);
            domainEvent = await db.DomainEvents.AsNoTracking().FirstOrDefaultAsync(e => e.Id == run.EventId, cancellationToken);
        }

        if (workflow is null || workflow.DeletedAt is not null || !workflow.Enabled)
        {
            return await FinishAsync(organizationId, runId, WorkflowRunStatus.Skipped,
                "Not run: the workflow was deleted or disabled before the run started.", cancellationToken);
        }

        if (domainEvent is null)
        {
            return await FinishAsync(organizationId, runId, WorkflowRunStatus.Failed,
                "The event is no longer in the outbox (past its retention).", cancellationToken);
        }

        for (var index = 0; index < workflow.Actions.Count; index++)
        {
            if (run.ActionResults.Any(r => r.Index == index && r.Status == "succeeded"))
            {
                continue;
            }

            var error = await RunActionAsync(organizationId, workflow, run, domainEvent, index, cancellationToken);
            if (error is not null)
            {
                var failure = $"Action {index + 1} ({workflow.Actions[index].Type}) failed: {error}";
                return await FinishAsync(organizationId, runId, null, failure, cancellationToken);
            }
        }

        return await FinishAsync(organizationId, runId, WorkflowRunStatus.Succeeded, null, cancellationToken);
    }

    private async Task<(WorkflowRun? Run, WorkflowRunStatus? Status)> ClaimAsync(Guid runId, CancellationToken cancellationToken)
    {
        await using var db = contexts.CreateForCurrentScope();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var run = await db.WorkflowRuns.FromSql($"SELECT * FROM workflow_runs WHERE id = {runId} FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        // Finished, being run right now, or an early duplicate of a scheduled retry.
        var due = run is not null && ((run.Status == WorkflowRunStatus.Pending && run.NextAttemptAt <= now)
                                      || (run.Status == WorkflowRunStatus.Running && run.StartedAt < now - Lease));
        if (!due)
        {
            return (null, run?.Status);
        }

        run!.Status = WorkflowRunStatus.Running;
        run.StartedAt = now;
        run.Attempts++;
        run.NextAttemptAt = null;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (run, null);
    }

    /// <summary>Runs action <paramref name="index"/> and records its result with its writes; its error, or null on success.</summary>
    private async Task<string?> RunActionAsync(Guid organizationId, Workflow workflow, WorkflowRun claimed, DomainEvent domainEvent,
        int index, CancellationToken cancellationToken)
    {
        var action = workflow.Actions[index];
        WorkflowActionOutcome outcome;
        await using (var db = contexts.CreateForCurrentScope())
        {
            db.Causation = new WorkflowCausation(claimed.Id, claimed.Depth + 1);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var run = await db.WorkflowRuns.FirstAsync(r => r.Id == claimed.Id, cancellationToken);
            try
            {
                outcome = await runner.RunAsync(organizationId, db, workflow, run, domainEvent, action, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogActionFailed(logger, exception, index, claimed.Id, organizationId);
                outcome = WorkflowActionOutcome.Fail($"Unexpected error ({exception.GetType().Name}).");
            }

            if (outcome.Error is null)
            {
                Record(run, index, action.Type, outcome);
                try
                {
                    await db.SaveChangesAsync(cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    claimed.ActionResults = run.ActionResults;
                    if (outcome.WebhookDeliveryId is { } deliveryId)
                    {
                        deliveries.Enqueue(organizationId, deliveryId, null);
                    }

                    return null;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogActionFailed(logger, exception, index, claimed.Id, organizationId);
                    outcome = WorkflowActionOutcome.Fail($"The action's changes could not be saved ({exception.GetType().Name}).");
                }
            }
        }

        // A failed action writes nothing: only its result is recorded, on a fresh context.
        await using (var db = contexts.CreateForCurrentScope())
        {
            var run = await db.WorkflowRuns.FirstAsync(r => r.Id == claimed.Id, cancellationToken);
            Record(run, index, action.Type, outcome);
            await db.SaveChangesAsync(cancellationToken);
            claimed.ActionResults = run.ActionResults;
        }

        return outcome.Error;
    }

    private void Record(WorkflowRun run, int index, string type, WorkflowActionOutcome outcome)
    {
        var result = new WorkflowActionResult(index, type, outcome.Error is null ? "succeeded" : "failed", outcome.Detail,
            outcome.Error is null ? null : Truncate(outcome.Error, 1000), clock.GetUtcNow());
        run.ActionResults = [.. run.ActionResults.Where(r => r.Index != index), result];
        run.ActionResults.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    /// <summary>Ends the attempt: the given status, or (null) a failure that is retried while attempts remain.</summary>
    private async Task<WorkflowRunStatus> FinishAsync(Guid organizationId, Guid runId, WorkflowRunStatus? status, string? error,
        CancellationToken cancellationToken)
    {
        await using var db = contexts.CreateForCurrentScope();
        var run = await db.WorkflowRuns.FirstAsync(r => r.Id == runId, cancellationToken);
        var now = clock.GetUtcNow();
        TimeSpan? retryIn = null;
        run.Error = error is null ? null : Truncate(error, 1000);
        if (status is null && run.Attempts < MaxAttempts)
        {
            retryIn = RetryDelays[run.Attempts - 1];
            run.Status = WorkflowRunStatus.Pending;
            run.NextAttemptAt = now + retryIn;
        }
        else
        {
            run.Status = status ?? WorkflowRunStatus.Failed;
            run.NextAttemptAt = null;
            run.FinishedAt = now;
        }

        await db.SaveChangesAsync(cancellationToken);
        if (retryIn is { } wait)
        {
            queue.Enqueue(organizationId, runId, wait);
        }
        else if (run.Status == WorkflowRunStatus.Failed)
        {
            LogRunFailed(logger, runId, organizationId, run.Attempts);
        }

        return run.Status;
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Action {Index} of workflow run {RunId} of organization {OrganizationId} threw")]
    private static partial void LogActionFailed(ILogger logger, Exception exception, int index, Guid runId, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Workflow run {RunId} of organization {OrganizationId} failed after {Attempts} attempts")]
    private static partial void LogRunFailed(ILogger logger, Guid runId, Guid organizationId, int attempts);
}

/// <summary>The outside world of workflow actions: Slack through <see cref="SlackNotificationJob"/>, mail via the catalog outbox.</summary>
public sealed class WorkflowEffects(IServiceProvider services, IDbContextFactory<CatalogDbContext> catalog, EmailQueue mail)
    : IWorkflowEffects
{
    // A repost Slack asks for (429) is left to the run's own retry, so the Slack job must not schedule one of its own.
    private const int NoRepost = int.MaxValue;

    public async Task<string?> PostToSlackAsync(Guid organizationId, string text, CancellationToken cancellationToken)
    {
        var result = await services.GetRequiredService<SlackNotificationJob>().RunAsync(organizationId, text, NoRepost, cancellationToken);
        return result.Sent ? null : result.Error ?? "unknown_error";
    }

    public async Task EmailAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        mail.Add(db, message);
        await db.SaveChangesAsync(cancellationToken);
    }

    public string WebhookBody(DomainEvent domainEvent, Guid workflowId, Guid runId)
    {
        var body = JsonNode.Parse(WebhookEventConsumer.Body(domainEvent))!.AsObject();
        body["workflow"] = new JsonObject { ["id"] = workflowId, ["runId"] = runId };
        return body.ToJsonString();
    }
}
