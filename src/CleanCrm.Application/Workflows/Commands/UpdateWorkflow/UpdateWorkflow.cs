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

namespace CleanCrm.Application.Workflows.Commands.UpdateWorkflow;

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

        merged.Value.ApplyTo(workflow);
        new WriteStamp(clock.GetUtcNow(), caller.UserId).Touch(workflow);
        var error = await CrmRecords.SaveAsync(db, WorkflowRecord.Resource, workflow.Id, null, cancellationToken);
        return error is null ? WorkflowDto.From(workflow) : error;
    }
}
