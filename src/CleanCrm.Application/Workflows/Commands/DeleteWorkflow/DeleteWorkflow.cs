using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Workflows.Commands.CreateWorkflow;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Workflows.Commands.DeleteWorkflow;

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
