using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Queries.GetDealHistory;

public sealed record DealStageChangeDto(Guid Id, Guid? FromStageId, Guid ToStageId, DateTimeOffset ChangedAt, Guid? ChangedBy);

/// <summary>The stage moves of a deal, oldest first.</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record GetDealHistory(Guid DealId) : IQuery<Result<Page<DealStageChangeDto>>>, IOrgScopedRequest;

public sealed class GetDealHistoryHandler(ITenantDbContext db) : IQueryHandler<GetDealHistory, Result<Page<DealStageChangeDto>>>
{
    public async ValueTask<Result<Page<DealStageChangeDto>>> Handle(GetDealHistory query, CancellationToken cancellationToken)
    {
        if (await DealRecord.Table.NotFoundUnlessLiveAsync(db, query.DealId, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var changes = await db.DealStageHistory.AsNoTracking()
            .Where(h => h.DealId == query.DealId && h.DeletedAt == null)
            .OrderBy(h => h.ChangedAt).ThenBy(h => h.Id)
            .Select(h => new DealStageChangeDto(h.Id, h.FromStageId, h.ToStageId, h.ChangedAt, h.CreatedBy))
            .ToListAsync(cancellationToken);
        return new Page<DealStageChangeDto>(changes, null);
    }
}
