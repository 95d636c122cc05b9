using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Deals.Queries.ListDeals;

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
        var deals = (string.IsNullOrWhiteSpace(query.Q) ? db.Deals.Where(d => d.DeletedAt == null) : db.DealsMatching(query.Q))
            .WhereIf(query.PipelineId, pipelineId => d => d.PipelineId == pipelineId)
            .WhereIf(query.StageId, stageId => d => d.StageId == stageId)
            .WhereIf(ApiEnum<DealStatus>.Parse(query.Status), status => d => d.Status == status)
            .WhereIf(query.CompanyId, companyId => d => d.CompanyId == companyId)
            .WhereIf(query.ContactId, contactId => d =>
                d.PrimaryContactId == contactId
                || db.DealContacts.Any(c => c.DealId == d.Id && c.ContactId == contactId && c.DeletedAt == null))
            .WhereIf(query.OwnerId, ownerId => d => d.OwnerId == ownerId)
            .WhereIf(query.MinAmount, min => d => d.Amount >= min)
            .WhereIf(query.MaxAmount, max => d => d.Amount <= max)
            .WhereIf(query.ExpectedCloseAfter, after => d => d.ExpectedCloseDate >= after)
            .WhereIf(query.ExpectedCloseBefore, before => d => d.ExpectedCloseDate < before)
            .CreatedBetween(query.CreatedAfter, query.CreatedBefore);
        return await Sorts.PageAsync(deals, query, DealDto.From, cancellationToken);
    }
}
