using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Commands.DeleteStage;

/// <summary>
/// Deletes a stage. When it holds deals, <c>targetStageId</c> names a stage of the same pipeline and kind that receives
/// them, each move recorded in the deal's stage history. The stage stays stored for that history; the later stages move up.
/// </summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record DeleteStage(Guid PipelineId, Guid StageId, uint? IfMatch, Guid? TargetStageId)
    : ICommand<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class DeleteStageValidator : AbstractValidator<DeleteStage>
{
    public DeleteStageValidator()
    {
        RuleFor(x => x.TargetStageId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .NotEqual(x => x.StageId).WithMessage("must name another stage than the one being deleted.")
            .OverridePropertyName("targetStageId");
    }
}

public sealed class DeleteStageHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<DeleteStage, Result<PipelineDto>>
{
    public async ValueTask<Result<PipelineDto>> Handle(DeleteStage command, CancellationToken cancellationToken)
    {
        var loaded = await PipelineWrites.LoadAsync(db, command.PipelineId, command.IfMatch, cancellationToken);
        if (!loaded.IsSuccess)
        {
            return loaded.Error!;
        }

        var pipeline = loaded.Value;
        var live = PipelineWrites.Live(pipeline);
        var stage = live.FirstOrDefault(s => s.Id == command.StageId);
        if (stage is null)
        {
            return Error.NotFound("Stage", command.StageId);
        }

        var remaining = live.Where(s => s.Id != stage.Id).ToList();
        if (PipelineWrites.WithoutOpenStage(remaining) is { } noOpen)
        {
            return noOpen;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        var deals = db.Deals.Where(d => d.StageId == stage.Id);
        if (await deals.AnyAsync(d => d.DeletedAt == null, cancellationToken))
        {
            if (command.TargetStageId is not { } targetId)
            {
                return Error.Conflict(ErrorCodes.Conflict,
                    $"Stage '{stage.Id}' holds deals: name targetStageId, a stage of the same pipeline and kind that receives them.");
            }

            var target = remaining.FirstOrDefault(s => s.Id == targetId);
            if (target is null || target.Kind != stage.Kind)
            {
                var kind = stage.Kind.ToString().ToLowerInvariant();
                return CrmReferences.InvalidReference("targetStageId",
                    $"targetStageId '{targetId}' is not another {kind} stage of pipeline '{pipeline.Id}'.");
            }

            await PipelineWrites.MoveDealsAsync(db, deals, target, stamp, cancellationToken);
        }

        stage.Position = PipelineWrites.RetiredPosition(pipeline);
        stage.DeletedAt = stamp.Now;
        stamp.Touch(stage);
        PipelineWrites.Number(remaining, stamp);
        stamp.Touch(pipeline);
        var error = await PipelineWrites.SaveAsync(db, pipeline.Id, pipeline.Name, cancellationToken);
        return error is null ? PipelineDto.From(pipeline) : error;
    }
}
