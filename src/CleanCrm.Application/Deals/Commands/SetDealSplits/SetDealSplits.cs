using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Commands.SetDealSplits;

public sealed record DealSplitInput(Guid? MemberId, decimal? Percent, SplitType? Type);

/// <summary>
/// Replaces a deal's splits: per type (revenue, overlay; revenue when omitted) the percents sum to 100, each member
/// once. Premium: needs the <c>revenue_splitting</c> feature (docs/API.md), refused with 403 <c>feature_disabled</c> otherwise.
/// </summary>
[RequiresPermission(Permission.CrmWrite)]
[RequiresFeature(PremiumFeatures.RevenueSplitting)]
public sealed record SetDealSplits(Guid DealId, IReadOnlyList<DealSplitInput> Splits)
    : ICommand<Result<IReadOnlyList<DealSplitDto>>>, IOrgScopedRequest;

public sealed class SetDealSplitsValidator : AbstractValidator<SetDealSplits>
{
    public SetDealSplitsValidator()
    {
        RuleFor(x => x.Splits).Must(s => s.Count <= 50).WithMessage("may hold at most 50 splits.").OverridePropertyName("splits");
        RuleForEach(x => x.Splits).ChildRules(split =>
        {
            split.RuleFor(s => s.MemberId).NotNull().WithMessage("is required.")
                .NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
            split.RuleFor(s => s.Percent).NotNull().WithMessage("is required.")
                .GreaterThan(0).WithMessage("must be greater than 0.")
                .LessThanOrEqualTo(100).WithMessage("must be at most 100.")
                .Must(p => p is null || decimal.Round(p.Value, 2) == p.Value).WithMessage("may have at most 2 decimals.");
        }).OverridePropertyName("splits");
        RuleFor(x => x.Splits)
            .Must(s => s.GroupBy(i => i.Type ?? SplitType.Revenue).All(g => g.Sum(i => i.Percent ?? 0) == 100))
            .WithMessage("the percents of each split type (revenue, overlay) must sum to 100.")
            .Must(s => s.GroupBy(i => (i.Type ?? SplitType.Revenue, i.MemberId)).All(g => g.Count() == 1))
            .WithMessage("a member may appear once per split type.")
            .OverridePropertyName("splits");
    }
}

public sealed class SetDealSplitsHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<SetDealSplits, Result<IReadOnlyList<DealSplitDto>>>
{
    public async ValueTask<Result<IReadOnlyList<DealSplitDto>>> Handle(SetDealSplits command, CancellationToken cancellationToken)
    {
        if (await DealRecord.Table.NotFoundUnlessLiveAsync(db, command.DealId, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var memberIds = command.Splits.Select(s => s.MemberId!.Value).Distinct().ToList();
        var active = await db.Members.Where(m => memberIds.Contains(m.Id) && m.IsActive).Select(m => m.Id).ToListAsync(cancellationToken);
        var index = command.Splits.ToList().FindIndex(s => !active.Contains(s.MemberId!.Value));
        if (index >= 0)
        {
            var field = $"splits[{index}].memberId";
            return CrmReferences.InvalidReference(
                field, $"{field} '{command.Splits[index].MemberId}' is not an active member of this organization.");
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        // One save (one transaction): a split kept for the same member and type is updated in place, the others are
        // soft-deleted and new pairs inserted, so the live-unique index never sees two rows for a pair.
        var existing = await db.DealSplits.Where(s => s.DealId == command.DealId && s.DeletedAt == null).ToListAsync(cancellationToken);
        var result = new List<DealSplit>();
        foreach (var input in command.Splits)
        {
            var type = input.Type ?? SplitType.Revenue;
            var kept = existing.FirstOrDefault(s => s.MemberId == input.MemberId && s.Type == type);
            if (kept is null)
            {
                var split = stamp.Stamp(new DealSplit
                {
                    DealId = command.DealId,
                    MemberId = input.MemberId!.Value,
                    Type = type,
                    Percent = input.Percent!.Value,
                });
                db.DealSplits.Add(split);
                result.Add(split);
                continue;
            }

            existing.Remove(kept);
            if (kept.Percent != input.Percent)
            {
                kept.Percent = input.Percent!.Value;
                kept.UpdatedAt = stamp.Now;
                kept.UpdatedBy = stamp.Actor;
            }

            result.Add(kept);
        }

        foreach (var removed in existing)
        {
            removed.DeletedAt = stamp.Now;
            removed.UpdatedAt = stamp.Now;
            removed.UpdatedBy = stamp.Actor;
        }

        if (await CrmRecords.SaveAsync(db, DealRecord.Table.Resource, command.DealId, null, cancellationToken) is { } error)
        {
            return error;
        }

        return result.OrderBy(s => s.Type).ThenByDescending(s => s.Percent).Select(DealSplitDto.From).ToList();
    }
}
