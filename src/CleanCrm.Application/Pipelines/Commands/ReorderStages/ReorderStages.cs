using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Pipelines.Commands.ReorderStages;

public sealed record StageOrderBody(IReadOnlyList<Guid>? StageIds);

/// <summary>Puts the pipeline's stages in the given order: <c>stageIds</c> lists every stage exactly once.</summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record ReorderStages(Guid PipelineId, StageOrderBody Body, uint? IfMatch) : ICommand<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class ReorderStagesValidator : AbstractValidator<ReorderStages>
{
    public ReorderStagesValidator()
    {
        RuleFor(x => x.Body.StageIds).NotEmpty().WithMessage("must list every stage of the pipeline, in the new order.")
            .Must(ids => ids is null || ids.Distinct().Count() == ids.Count).WithMessage("must not list a stage twice.")
            .OverridePropertyName("stageIds");
    }
}

public sealed class ReorderStagesHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<ReorderStages, Result<PipelineDto>>
{
    public async ValueTask<Result<PipelineDto>> Handle(ReorderStages command, CancellationToken cancellationToken)
    {
        var loaded = await PipelineWrites.LoadAsync(db, command.PipelineId, command.IfMatch, cancellationToken);
        if (!loaded.IsSuccess)
        {
            return loaded.Error!;
        }

        var pipeline = loaded.Value;
        var live = PipelineWrites.Live(pipeline).ToDictionary(s => s.Id);
        var ids = command.Body.StageIds!;
        var unknown = ids.Where(id => !live.ContainsKey(id)).ToList();
        if (unknown.Count > 0)
        {
            return Error.Validation("stageIds", $"'{unknown[0]}' is not a stage of pipeline '{pipeline.Id}'.");
        }

        if (ids.Count != live.Count)
        {
            var missing = live.Keys.First(id => !ids.Contains(id));
            return Error.Validation("stageIds", $"must list every stage of the pipeline; '{missing}' is missing.");
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        PipelineWrites.Number(ids.Select(id => live[id]), stamp);
        stamp.Touch(pipeline);
        var error = await PipelineWrites.SaveAsync(db, pipeline.Id, pipeline.Name, cancellationToken);
        return error is null ? PipelineDto.From(pipeline) : error;
    }
}
