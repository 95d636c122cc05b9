using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Workflows.Commands;

/// <summary>Creates a workflow after checking every name and reference it uses (docs/API.md, "Workflows").</summary>
[RequiresPermission(Permission.WorkflowsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record CreateWorkflow(WorkflowFields Fields) : ICommand<Result<WorkflowDto>>, IOrgScopedRequest;

public sealed class CreateWorkflowValidator : AbstractValidator<CreateWorkflow>
{
    public CreateWorkflowValidator() => RuleFor(x => x.Fields).SetValidator(new WorkflowFieldsValidator());
}

public sealed class CreateWorkflowHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<CreateWorkflow, Result<WorkflowDto>>
{
    public async ValueTask<Result<WorkflowDto>> Handle(CreateWorkflow command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        if (await WorkflowDefinitions.CheckAsync(db, fields, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var workflow = new WriteStamp(clock.GetUtcNow(), caller.UserId).Stamp(new Workflow
        {
            Name = fields.Name!.Trim(),
            TriggerEvent = fields.Trigger!.Event!,
        });
        Apply(workflow, fields);
        db.Workflows.Add(workflow);
        var error = await CrmRecords.SaveAsync(db, WorkflowRecord.Resource, workflow.Id, null, cancellationToken);
        return error is null ? WorkflowDto.From(workflow) : error;
    }

    internal static void Apply(Workflow workflow, WorkflowFields fields)
    {
        workflow.Name = fields.Name!.Trim();
        workflow.Enabled = fields.Enabled ?? true;
        workflow.TriggerEvent = fields.Trigger!.Event!;
        workflow.TriggerStageId = fields.Trigger.StageId;
        workflow.Conditions = [.. fields.Conditions ?? []];
        workflow.Actions = [.. fields.Actions!];
    }
}

/// <summary>Changes a workflow (JSON merge patch, If-Match); the result is checked as on create.</summary>
[RequiresPermission(Permission.WorkflowsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record UpdateWorkflow(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<WorkflowDto>>, IOrgScopedRequest;

public sealed class UpdateWorkflowHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateWorkflow, Result<WorkflowDto>>
{
    private static readonly WorkflowFieldsValidator Validator = new();

    public async ValueTask<Result<WorkflowDto>> Handle(UpdateWorkflow command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(db, db.Workflows, WorkflowRecord.Resource, command.Id, command.IfMatch,
            cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var workflow = found.Value;
        var trigger = new WorkflowTrigger(workflow.TriggerEvent, workflow.TriggerStageId);
        var current = new WorkflowFields(workflow.Name, workflow.Enabled, trigger,
            workflow.Conditions, workflow.Actions);
        var merged = await CrmRecords.MergeAsync(current, command.Patch, Validator, cancellationToken);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        if (merged.Value.Enabled is null)
        {
            return Error.Validation("enabled", "enabled must be true or false.");
        }

        if (await WorkflowDefinitions.CheckAsync(db, merged.Value, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        CreateWorkflowHandler.Apply(workflow, merged.Value);
        new WriteStamp(clock.GetUtcNow(), caller.UserId).Touch(workflow);
        var error = await CrmRecords.SaveAsync(db, WorkflowRecord.Resource, workflow.Id, null, cancellationToken);
        return error is null ? WorkflowDto.From(workflow) : error;
    }
}

/// <summary>Deletes a workflow (soft): it starts no more runs; its run history stays readable to the audit log only.</summary>
[RequiresPermission(Permission.WorkflowsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record DeleteWorkflow(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteWorkflowHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<DeleteWorkflow, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteWorkflow command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(db, db.Workflows, WorkflowRecord.Resource, command.Id, command.IfMatch,
            cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        found.Value.DeletedAt = stamp.Now;
        stamp.Touch(found.Value);
        var error = await CrmRecords.SaveAsync(db, WorkflowRecord.Resource, command.Id, null, cancellationToken);
        return error is null ? Unit.Value : error;
    }
}
