using System.Text.Json;
using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

/// <summary>
/// An automation of the organization (docs/WORKFLOWS.md, "Workflows"): when an event of <see cref="TriggerEvent"/> happens
/// (for a stage change, into <see cref="TriggerStageId"/> when set) and every condition holds, its actions run in order.
/// </summary>
public sealed class Workflow : TenantEntity
{
    public required string Name { get; set; }

    public bool Enabled { get; set; }

    public required string TriggerEvent { get; set; }

    public Guid? TriggerStageId { get; set; }

    public List<WorkflowCondition> Conditions { get; set; } = [];

    public List<WorkflowAction> Actions { get; set; } = [];
}

/// <summary>A test on a field of the event's record, e.g. <c>amount gte 100000</c>; all of a workflow's conditions must hold.</summary>
public sealed record WorkflowCondition(string Field, string Operator, JsonElement Value);

/// <summary>
/// One step of a workflow. <see cref="Type"/> says which properties it uses: <c>create_task</c> (title, assigneeId, dueInDays),
/// <c>assign_owner</c> (ownerId), <c>update_field</c> (field, value), <c>add_tag</c> (tagId), <c>email_owner</c> (subject, text),
/// <c>post_to_slack</c> (text), <c>call_webhook</c> (endpointId).
/// </summary>
public sealed record WorkflowAction(
    string Type,
    string? Title = null,
    Guid? AssigneeId = null,
    int? DueInDays = null,
    Guid? OwnerId = null,
    string? Field = null,
    JsonElement? Value = null,
    Guid? TagId = null,
    string? Subject = null,
    string? Text = null,
    Guid? EndpointId = null);

public enum WorkflowRunStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// <summary>One workflow started by one event: its state, attempts and the outcome of each action.</summary>
public sealed class WorkflowRun
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>Database-assigned, increasing: the run list's order and cursor.</summary>
    public long Sequence { get; set; }

    public Guid WorkflowId { get; set; }

    /// <summary>The domain event that started it (not a foreign key: runs outlive the outbox's retention).</summary>
    public Guid EventId { get; set; }

    public required string EventType { get; set; }

    public required string EntityType { get; set; }

    public Guid EntityId { get; set; }

    /// <summary>The event's causation depth; its writes raise events of depth + 1.</summary>
    public int Depth { get; set; }

    public WorkflowRunStatus Status { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }

    public string? Error { get; set; }

    public List<WorkflowActionResult> ActionResults { get; set; } = [];
}

/// <summary>What one action of a run did: <c>succeeded</c> (with what it made, e.g. the task's id) or <c>failed</c> with why.</summary>
public sealed record WorkflowActionResult(int Index, string Type, string Status, string? Detail, string? Error, DateTimeOffset At);
