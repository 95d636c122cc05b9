using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public enum StageKind
{
    Open,
    Won,
    Lost,
}

/// <summary>A sales pipeline with ordered stages; every organization starts with one default pipeline.</summary>
public sealed class Pipeline : TenantEntity
{
    public required string Name { get; set; }

    public bool IsDefault { get; set; }

    /// <summary>Its stages; a deleted stage stays stored (so deal stage history keeps pointing at it), readers skip it.</summary>
    public List<PipelineStage> Stages { get; set; } = [];
}

/// <summary>A step of a pipeline; live stages have positions 0..n-1, a deleted one a negative position.</summary>
public sealed class PipelineStage : TenantEntity
{
    public Guid PipelineId { get; set; }

    public required string Name { get; set; }

    public int Position { get; set; }

    /// <summary>Default win probability of deals in this stage, 0-100.</summary>
    public int Probability { get; set; }

    public StageKind Kind { get; set; }
}
