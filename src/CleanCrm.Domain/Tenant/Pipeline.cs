namespace CleanCrm.Domain.Tenant;

public enum StageKind
{
    Open,
    Won,
    Lost,
}

/// <summary>A sales pipeline with ordered stages; every organization starts with one default pipeline.</summary>
public sealed class Pipeline
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public bool IsDefault { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? DeletedAt { get; set; }

    public uint Version { get; set; }

    public List<PipelineStage> Stages { get; set; } = [];
}

public sealed class PipelineStage
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid PipelineId { get; set; }

    public required string Name { get; set; }

    public int Position { get; set; }

    /// <summary>Default win probability of deals in this stage, 0-100.</summary>
    public int Probability { get; set; }

    public StageKind Kind { get; set; }
}
