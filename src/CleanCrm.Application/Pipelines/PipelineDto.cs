using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Pipelines;

/// <summary>A pipeline with its ordered stages.</summary>
public sealed record PipelineDto(Guid Id, string Name, bool IsDefault, IReadOnlyList<PipelineStageDto> Stages)
{
    public static PipelineDto From(Pipeline pipeline) => new(
        pipeline.Id,
        pipeline.Name,
        pipeline.IsDefault,
        [.. pipeline.Stages.OrderBy(s => s.Position).Select(s => new PipelineStageDto(s.Id, s.Name, s.Position, s.Probability, s.Kind))]);
}

public sealed record PipelineStageDto(Guid Id, string Name, int Position, int Probability, StageKind Kind);
