using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Commands.UpdateStage;

/// <summary>
/// Merge patch of a stage's name, probability and kind. A new probability applies to deals entering the stage from now
/// on; the kind of a stage that holds deals cannot change (it would silently close or reopen them).
/// </summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record UpdateStage(Guid PipelineId, Guid StageId, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class UpdateStageHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateStage, Result<PipelineDto>>
{
    private static readonly PipelineStageFieldsValidator Validator = new();

    public async ValueTask<Result<PipelineDto>> Handle(UpdateStage command, CancellationToken cancellationToken)
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

        var merged = await CrmRecords.MergeAsync(new PipelineStageFields(stage.Name, stage.Probability, stage.Kind), command.Patch,
            Validator, cancellationToken);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        if (PipelineWrites.DuplicateStageName(live, fields.Name!, "name", except: stage.Id) is { } duplicate)
        {
            return duplicate;
        }

        if (fields.Kind != stage.Kind)
        {
            if (await db.Deals.AnyAsync(d => d.StageId == stage.Id && d.DeletedAt == null, cancellationToken))
            {
                return Error.Conflict(ErrorCodes.Conflict,
                    $"Stage '{stage.Id}' holds deals, so its kind cannot change: add a stage of the new kind and move the deals.");
            }

            stage.Kind = fields.Kind!.Value;
            if (PipelineWrites.WithoutOpenStage(live) is { } noOpen)
            {
                return noOpen;
            }
        }

        stage.Name = fields.Name!.Trim();
        stage.Probability = fields.Probability!.Value;
        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        stamp.Touch(stage);
        stamp.Touch(pipeline);
        var error = await PipelineWrites.SaveAsync(db, pipeline.Id, pipeline.Name, cancellationToken);
        return error is null ? PipelineDto.From(pipeline) : error;
    }
}
