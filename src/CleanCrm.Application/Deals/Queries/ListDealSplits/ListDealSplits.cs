using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Queries.ListDealSplits;

[RequiresPermission(Permission.CrmRead)]
public sealed record ListDealSplits(Guid DealId) : IQuery<Result<IReadOnlyList<DealSplitDto>>>, IOrgScopedRequest;

public sealed class ListDealSplitsHandler(ITenantDbContext db) : IQueryHandler<ListDealSplits, Result<IReadOnlyList<DealSplitDto>>>
{
    public async ValueTask<Result<IReadOnlyList<DealSplitDto>>> Handle(ListDealSplits query, CancellationToken cancellationToken)
    {
        if (await DealRecord.Table.NotFoundUnlessLiveAsync(db, query.DealId, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var splits = await db.DealSplits.AsNoTracking().Where(s => s.DealId == query.DealId && s.DeletedAt == null)
            .OrderBy(s => s.Type).ThenByDescending(s => s.Percent).ThenBy(s => s.Id).ToListAsync(cancellationToken);
        return splits.Select(DealSplitDto.From).ToList();
    }
}
