using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public enum DealStatus
{
    Open,
    Won,
    Lost,
}

public enum SplitType
{
    Revenue,
    Overlay,
}

/// <summary>An opportunity moving through a pipeline; status and closed fields follow the kind of its stage.</summary>
public sealed class Deal : TenantEntity
{
    public required string Name { get; set; }

    public Guid PipelineId { get; set; }

    public Guid StageId { get; set; }

    /// <summary>Minor units of <see cref="Currency"/>.</summary>
    public long? Amount { get; set; }

    public string? Currency { get; set; }

    /// <summary>Win probability 0-100; defaults to the stage's probability.</summary>
    public int Probability { get; set; }

    public DateOnly? ExpectedCloseDate { get; set; }

    public DealStatus Status { get; set; }

    public DateTimeOffset? ClosedAt { get; set; }

    public string? LostReason { get; set; }

    public Guid? CompanyId { get; set; }

    public Guid? PrimaryContactId { get; set; }

    public Guid? OwnerId { get; set; }

    public DateTimeOffset StageEnteredAt { get; set; }
}

/// <summary>A contact involved in a deal, with their role (decision maker, champion, ...).</summary>
public sealed class DealContact : TenantEntity
{
    public Guid DealId { get; set; }

    public Guid ContactId { get; set; }

    public string? Role { get; set; }
}

/// <summary>A member's share of a deal's credit; the live splits of each type sum to 100.</summary>
public sealed class DealSplit : TenantEntity
{
    public Guid DealId { get; set; }

    public Guid MemberId { get; set; }

    public SplitType Type { get; set; }

    public decimal Percent { get; set; }
}

/// <summary>One move of a deal between stages.</summary>
public sealed class DealStageChange : TenantEntity
{
    public Guid DealId { get; set; }

    public Guid? FromStageId { get; set; }

    public Guid ToStageId { get; set; }

    public DateTimeOffset ChangedAt { get; set; }
}
