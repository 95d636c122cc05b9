using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Queries.GetDeal;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetDeal(Guid Id) : IQuery<Result<DealDto>>, IOrgScopedRequest;

public sealed class GetDealHandler(ITenantDbContext db) : IQueryHandler<GetDeal, Result<DealDto>>
{
    // The hottest read of the product: compiled once, untracked.
    private static readonly Func<DbContext, Guid, CancellationToken, Task<Deal?>> Find = EF.CompileAsyncQuery(
        (DbContext context, Guid id, CancellationToken _) =>
            context.Set<Deal>().AsNoTracking().FirstOrDefault(d => d.Id == id && d.DeletedAt == null));

    public async ValueTask<Result<DealDto>> Handle(GetDeal query, CancellationToken cancellationToken)
    {
        var deal = db is DbContext context
            ? await Find(context, query.Id, cancellationToken)
            : await db.Deals.AsNoTracking().FirstOrDefaultAsync(d => d.Id == query.Id && d.DeletedAt == null, cancellationToken);
        return deal is null ? Error.NotFound(DealRecord.Table.Resource, query.Id) : DealDto.From(deal);
    }
}
