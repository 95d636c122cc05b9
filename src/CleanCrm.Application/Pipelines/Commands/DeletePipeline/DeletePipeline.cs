using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Commands.DeletePipeline;

/// <summary>
/// Deletes a pipeline that is not the default. Its open deals must go somewhere: <c>targetPipelineId</c> names a pipeline
/// whose first open stage receives them (each move in the deal's stage history); closed deals keep their pipeline.
/// </summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record DeletePipeline(Guid Id, uint? IfMatch, Guid? TargetPipelineId) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeletePipelineValidator : AbstractValidator<DeletePipeline>
{
    public DeletePipelineValidator()
    {
        RuleFor(x => x.TargetPipelineId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .NotEqual(x => x.Id).WithMessage("must name another pipeline than the one being deleted.")
            .OverridePropertyName("targetPipelineId");
    }
}

public sealed class DeletePipelineHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<DeletePipeline, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeletePipeline command, CancellationToken cancellationToken)
    {
        var loaded = await PipelineWrites.LoadAsync(db, command.Id, command.IfMatch, cancellationToken);
        if (!loaded.IsSuccess)
        {
            return loaded.Error!;
        }

        var pipeline = loaded.Value;
        if (pipeline.IsDefault)
        {
            return Error.Conflict(ErrorCodes.Conflict,
                "The default pipeline cannot be deleted: make another pipeline the default first.");
        }

        var openDeals = db.Deals.Where(d => d.PipelineId == pipeline.Id && d.Status == DealStatus.Open);
        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        if (await openDeals.AnyAsync(d => d.DeletedAt == null, cancellationToken))
        {
            var target = await TargetStageAsync(command, cancellationToken);
            if (!target.IsSuccess)
            {
                return target.Error!;
            }

            await PipelineWrites.MoveDealsAsync(db, openDeals, target.Value, stamp, cancellationToken);
        }

        pipeline.DeletedAt = stamp.Now;
        stamp.Touch(pipeline);
        var error = await CrmRecords.SaveAsync(db, PipelineWrites.Resource, pipeline.Id, null, cancellationToken);
        return error is null ? Unit.Value : error;
    }

    private async Task<Result<PipelineStage>> TargetStageAsync(DeletePipeline command, CancellationToken cancellationToken)
    {
        if (command.TargetPipelineId is not { } targetId)
        {
            return Error.Conflict(ErrorCodes.Conflict,
                "The pipeline still holds open deals: name targetPipelineId, the pipeline whose first open stage receives them.");
        }

        var first = await db.PipelineStages
            .Where(s => s.PipelineId == targetId && s.DeletedAt == null && s.Kind == StageKind.Open)
            .Where(s => db.Pipelines.Any(p => p.Id == targetId && p.DeletedAt == null))
            .OrderBy(s => s.Position).FirstOrDefaultAsync(cancellationToken);
        return first is null
            ? CrmReferences.InvalidReference("targetPipelineId", $"targetPipelineId '{targetId}' does not name another live pipeline.")
            : first;
    }
}
