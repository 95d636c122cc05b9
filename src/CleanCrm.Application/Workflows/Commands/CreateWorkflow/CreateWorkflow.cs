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

namespace CleanCrm.Application.Workflows.Commands.CreateWorkflow;

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
        fields.ApplyTo(workflow);
        db.Workflows.Add(workflow);
        var error = await CrmRecords.SaveAsync(db, WorkflowRecord.Resource, workflow.Id, null, cancellationToken);
        return error is null ? WorkflowDto.From(workflow) : error;
    }
}
