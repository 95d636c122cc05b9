using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Pipelines.Commands.AddStage;

/// <summary>Adds a stage at <c>position</c> (0-based; default: last), moving the later stages down by one.</summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record AddStage(Guid PipelineId, PipelineStageBody Body, uint? IfMatch) : ICommand<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class AddStageValidator : AbstractValidator<AddStage>
{
    public AddStageValidator()
    {
        PipelineStageRules.Add(this, x => x.Body);
        RuleFor(x => x.Body.Position).GreaterThanOrEqualTo(0).WithMessage("must be 0 or more.").OverridePropertyName("position");
    }
}

public sealed class AddStageHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<AddStage, Result<PipelineDto>>
{
    public async ValueTask<Result<PipelineDto>> Handle(AddStage command, CancellationToken cancellationToken)
    {
        var loaded = await PipelineWrites.LoadAsync(db, command.PipelineId, command.IfMatch, cancellationToken);
        if (!loaded.IsSuccess)
        {
            return loaded.Error!;
        }

        var pipeline = loaded.Value;
        var live = PipelineWrites.Live(pipeline);
        if (live.Count >= PipelineWrites.MaxStages)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"A pipeline has at most {PipelineWrites.MaxStages} stages.");
        }

        if (command.Body.Position is { } wanted && wanted > live.Count)
        {
            return Error.Validation("position", $"must be between 0 and {live.Count} (the number of stages).");
        }

        if (PipelineWrites.DuplicateStageName(live, command.Body.Name!, "name") is { } duplicate)
        {
            return duplicate;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        var stage = stamp.Stamp(new PipelineStage
        {
            PipelineId = pipeline.Id,
            Name = command.Body.Name!.Trim(),
            Probability = command.Body.Probability!.Value,
            Kind = command.Body.Kind!.Value,
            Position = live.Count,
        });
        live.Insert(command.Body.Position ?? live.Count, stage);
        pipeline.Stages.Add(stage);
        PipelineWrites.Number(live, stamp);
        stamp.Touch(pipeline);
        var error = await PipelineWrites.SaveAsync(db, pipeline.Id, pipeline.Name, cancellationToken);
        return error is null ? PipelineDto.From(pipeline) : error;
    }
}
