using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Queries;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetDeal(Guid Id) : IQuery<Result<DealDto>>, IOrgScopedRequest;

public sealed class GetDealHandler(ITenantDbContext db) : IQueryHandler<GetDeal, Result<DealDto>>
{
    // The hottest read of the product: compiled once, untracked.
    private static readonly Func<DbContext, Guid, CancellationToken, Task<Deal?>> Find = EF.CompileAsyncQuery(
        (DbContext context, Guid id, CancellationToken _) => context.Set<Deal>().AsNoTracking().FirstOrDefault(d => d.Id == id && d.DeletedAt == null));

    public async ValueTask<Result<DealDto>> Handle(GetDeal query, CancellationToken cancellationToken)
    {
        var deal = db is DbContext context
            ? await Find(context, query.Id, cancellationToken)
            : await db.Deals.AsNoTracking().FirstOrDefaultAsync(d => d.Id == query.Id && d.DeletedAt == null, cancellationToken);
        return deal is null ? Error.NotFound("Deal", query.Id) : DealDto.From(deal);
    }
}

/// <summary>Keyset-paginated deals with full-text <c>q</c> and field filters.</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record ListDeals(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    Guid? PipelineId = null,
    Guid? StageId = null,
    string? Status = null,
    Guid? CompanyId = null,
    Guid? ContactId = null,
    Guid? OwnerId = null,
    long? MinAmount = null,
    long? MaxAmount = null,
    DateOnly? ExpectedCloseAfter = null,
    DateOnly? ExpectedCloseBefore = null,
    DateTimeOffset? CreatedAfter = null,
    DateTimeOffset? CreatedBefore = null) : IQuery<Result<Page<DealDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListDealsValidator : ListQueryValidator<ListDeals, Deal>
{
    public ListDealsValidator()
        : base(ListDealsHandler.Sorts)
    {
        RuleFor(x => x.Status).Must(ApiEnum<DealStatus>.IsValid).WithMessage($"must be one of {ApiEnum<DealStatus>.Names}.");
        RuleFor(x => x.MinAmount).GreaterThanOrEqualTo(0).WithMessage("must not be negative.");
        RuleFor(x => x.MaxAmount).GreaterThanOrEqualTo(0).WithMessage("must not be negative.");
    }
}

public sealed class ListDealsHandler(ITenantDbContext db) : IQueryHandler<ListDeals, Result<Page<DealDto>>>
{
    public static readonly SortKeys<Deal> Sorts = new(
        "createdAt",
        SortKey<Deal>.Text("name", d => d.Name),
        SortKey<Deal>.Number("amount", d => d.Amount ?? 0),
        SortKey<Deal>.Time("createdAt", d => d.CreatedAt),
        SortKey<Deal>.Time("updatedAt", d => d.UpdatedAt),
        SortKey<Deal>.Time("stageEnteredAt", d => d.StageEnteredAt));

    public async ValueTask<Result<Page<DealDto>>> Handle(ListDeals query, CancellationToken cancellationToken)
    {
        var deals = string.IsNullOrWhiteSpace(query.Q) ? db.Deals.Where(d => d.DeletedAt == null) : db.DealsMatching(query.Q);
        if (query.PipelineId is { } pipelineId)
        {
            deals = deals.Where(d => d.PipelineId == pipelineId);
        }

        if (query.StageId is { } stageId)
        {
            deals = deals.Where(d => d.StageId == stageId);
        }

        if (ApiEnum<DealStatus>.Parse(query.Status) is { } status)
        {
            deals = deals.Where(d => d.Status == status);
        }

        if (query.CompanyId is { } companyId)
        {
            deals = deals.Where(d => d.CompanyId == companyId);
        }

        if (query.ContactId is { } contactId)
        {
            deals = deals.Where(d => d.PrimaryContactId == contactId
                                     || db.DealContacts.Any(c => c.DealId == d.Id && c.ContactId == contactId && c.DeletedAt == null));
        }

        if (query.OwnerId is { } ownerId)
        {
            deals = deals.Where(d => d.OwnerId == ownerId);
        }

        if (query.MinAmount is { } min)
        {
            deals = deals.Where(d => d.Amount >= min);
        }

        if (query.MaxAmount is { } max)
        {
            deals = deals.Where(d => d.Amount <= max);
        }

        if (query.ExpectedCloseAfter is { } closeAfter)
        {
            deals = deals.Where(d => d.ExpectedCloseDate >= closeAfter);
        }

        if (query.ExpectedCloseBefore is { } closeBefore)
        {
            deals = deals.Where(d => d.ExpectedCloseDate < closeBefore);
        }

        if (query.CreatedAfter is { } createdAfter)
        {
            deals = deals.Where(d => d.CreatedAt >= createdAfter);
        }

        if (query.CreatedBefore is { } createdBefore)
        {
            deals = deals.Where(d => d.CreatedAt < createdBefore);
        }

        return await Sorts.PageAsync(deals, query, DealDto.From, cancellationToken);
    }
}

public sealed record DealStageChangeDto(Guid Id, Guid? FromStageId, Guid ToStageId, DateTimeOffset ChangedAt, Guid? ChangedBy);

/// <summary>The stage moves of a deal, oldest first.</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record GetDealHistory(Guid DealId) : IQuery<Result<Page<DealStageChangeDto>>>, IOrgScopedRequest;

public sealed class GetDealHistoryHandler(ITenantDbContext db) : IQueryHandler<GetDealHistory, Result<Page<DealStageChangeDto>>>
{
    public async ValueTask<Result<Page<DealStageChangeDto>>> Handle(GetDealHistory query, CancellationToken cancellationToken)
    {
        if (!await db.Deals.AnyAsync(d => d.Id == query.DealId && d.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound("Deal", query.DealId);
        }

        var changes = await db.DealStageHistory.AsNoTracking()
            .Where(h => h.DealId == query.DealId && h.DeletedAt == null)
            .OrderBy(h => h.ChangedAt).ThenBy(h => h.Id)
            .Select(h => new DealStageChangeDto(h.Id, h.FromStageId, h.ToStageId, h.ChangedAt, h.CreatedBy))
            .ToListAsync(cancellationToken);
        return new Page<DealStageChangeDto>(changes, null);
    }
}
