using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Commands.CreatePipeline;

public sealed record CreatePipelineBody(string? Name, bool? IsDefault, IReadOnlyList<PipelineStageBody>? Stages);

/// <summary>Creates a pipeline with its stages in the given order; <c>isDefault</c> makes it the organization's default.</summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record CreatePipeline(CreatePipelineBody Body) : ICommand<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class CreatePipelineValidator : AbstractValidator<CreatePipeline>
{
    public CreatePipelineValidator()
    {
        RuleFor(x => x.Body.Name).NotEmpty().WithMessage("is required.").MaximumLength(100).WithMessage("must be at most 100 characters.")
            .OverridePropertyName("name");
        RuleFor(x => x.Body.Stages).NotEmpty().WithMessage("must list at least one stage.")
            .Must(s => s is null || s.Count <= PipelineWrites.MaxStages)
            .WithMessage($"must list at most {PipelineWrites.MaxStages} stages.")
            .Must(s => s is null || s.Count == 0 || s.Any(stage => stage?.Kind == StageKind.Open))
            .WithMessage("must include at least one open stage: new deals start in the first open stage.")
            .Must(s => s is null || s.Where(stage => stage?.Name is not null)
                .GroupBy(stage => stage.Name!.Trim(), StringComparer.OrdinalIgnoreCase).All(g => g.Count() == 1))
            .WithMessage("must not name two stages alike.")
            .OverridePropertyName("stages");
        RuleForEach(x => x.Body.Stages).NotNull().WithMessage("must be an object.").ChildRules(stage =>
            {
                PipelineStageRules.Add(stage);
                stage.RuleFor(s => s.Position).Null().WithMessage("is not accepted here: stages take the order of the list.");
            })
            .OverridePropertyName("stages");
    }
}

public sealed class CreatePipelineHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<CreatePipeline, Result<PipelineDto>>
{
    public async ValueTask<Result<PipelineDto>> Handle(CreatePipeline command, CancellationToken cancellationToken)
    {
        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        var name = command.Body.Name!.Trim();
        var pipeline = stamp.Stamp(new Pipeline { Name = name, IsDefault = command.Body.IsDefault == true });
        foreach (var (stage, position) in command.Body.Stages!.Select((stage, index) => (stage, index)))
        {
            pipeline.Stages.Add(stamp.Stamp(new PipelineStage
            {
                PipelineId = pipeline.Id,
                Name = stage.Name!.Trim(),
                Probability = stage.Probability!.Value,
                Kind = stage.Kind!.Value,
                Position = position,
            }));
        }

        if (pipeline.IsDefault)
        {
            // The one-default index is not deferrable: EF orders the old default's update before this insert.
            foreach (var current in await db.Pipelines.Where(p => p.IsDefault && p.DeletedAt == null).ToListAsync(cancellationToken))
            {
                current.IsDefault = false;
                stamp.Touch(current);
            }
        }

        db.Pipelines.Add(pipeline);
        var error = await PipelineWrites.SaveAsync(db, pipeline.Id, name, cancellationToken);
        return error is null ? PipelineDto.From(pipeline) : error;
    }
}
