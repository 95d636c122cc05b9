using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Deals;

public sealed record DealSplitDto(Guid Id, Guid MemberId, SplitType Type, decimal Percent)
{
    public static DealSplitDto From(DealSplit split) => new(split.Id, split.MemberId, split.Type, split.Percent);
}
