using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Workflows;

/// <summary>What starts a workflow: an event name and, for <c>deal.stage_changed</c>, optionally the stage moved into.</summary>
public sealed record WorkflowTrigger(string? Event, Guid? StageId = null);

/// <summary>A workflow as the API returns it (docs/API.md, "Workflows").</summary>
public sealed record WorkflowDto(
    Guid Id,
    string Name,
    bool Enabled,
    WorkflowTrigger Trigger,
    IReadOnlyList<WorkflowCondition> Conditions,
    IReadOnlyList<WorkflowAction> Actions,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static WorkflowDto From(Workflow workflow) => new(
        workflow.Id, workflow.Name, workflow.Enabled, new WorkflowTrigger(workflow.TriggerEvent, workflow.TriggerStageId),
        workflow.Conditions, workflow.Actions, workflow.CreatedAt, workflow.UpdatedAt)
    {
        Version = workflow.Version,
    };
}

/// <summary>The fields a client writes; <c>enabled</c> defaults to true, <c>conditions</c> to none.</summary>
public sealed record WorkflowFields(
    string? Name,
    bool? Enabled,
    WorkflowTrigger? Trigger,
    IReadOnlyList<WorkflowCondition>? Conditions,
    IReadOnlyList<WorkflowAction>? Actions)
{
    /// <summary>Writes these fields, already validated, onto the workflow: the one write shared by create and update.</summary>
    internal void ApplyTo(Workflow workflow)
    {
        workflow.Name = Name!.Trim();
        workflow.Enabled = Enabled ?? true;
        workflow.TriggerEvent = Trigger!.Event!;
        workflow.TriggerStageId = Trigger.StageId;
        workflow.Conditions = [.. Conditions ?? []];
        workflow.Actions = [.. Actions!];
    }
}

/// <summary>One run of a workflow: the event that started it, its status, attempts, error and what each action did.</summary>
public sealed record WorkflowRunDto(
    Guid Id,
    Guid WorkflowId,
    Guid EventId,
    string EventType,
    string EntityType,
    Guid EntityId,
    int Depth,
    WorkflowRunStatus Status,
    int Attempts,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? NextAttemptAt,
    IReadOnlyList<WorkflowActionResult> Actions)
{
    public static WorkflowRunDto From(WorkflowRun run) => new(run.Id, run.WorkflowId, run.EventId, run.EventType, run.EntityType,
        run.EntityId, run.Depth, run.Status, run.Attempts, run.Error, run.CreatedAt, run.StartedAt, run.FinishedAt, run.NextAttemptAt,
        run.ActionResults);
}

public static class WorkflowRecord
{
    public const string Resource = "Workflow";
}
