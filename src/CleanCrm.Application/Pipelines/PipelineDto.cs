using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Pipelines;

/// <summary>A pipeline with its ordered live stages; its ETag covers the stages (every stage write changes it).</summary>
public sealed record PipelineDto(Guid Id, string Name, bool IsDefault, IReadOnlyList<PipelineStageDto> Stages)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static PipelineDto From(Pipeline pipeline) => new(
        pipeline.Id,
        pipeline.Name,
        pipeline.IsDefault,
        [.. pipeline.Stages.Where(s => s.DeletedAt == null).OrderBy(s => s.Position)
            .Select(s => new PipelineStageDto(s.Id, s.Name, s.Position, s.Probability, s.Kind))])
    {
        Version = pipeline.Version,
    };
}

public sealed record PipelineStageDto(Guid Id, string Name, int Position, int Probability, StageKind Kind);
