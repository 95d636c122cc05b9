using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Companies.Queries.ListCompanies;

/// <summary>Keyset-paginated list with full-text <c>q</c> and field filters.</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record ListCompanies(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    Guid? OwnerId = null,
    string? Domain = null,
    string? Industry = null,
    DateTimeOffset? CreatedAfter = null,
    DateTimeOffset? CreatedBefore = null) : IQuery<Result<Page<CompanyDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListCompaniesValidator() : ListQueryValidator<ListCompanies, Company>(ListCompaniesHandler.Sorts);

public sealed class ListCompaniesHandler(ITenantDbContext db) : IQueryHandler<ListCompanies, Result<Page<CompanyDto>>>
{
    public static readonly SortKeys<Company> Sorts = new(
        "createdAt",
        SortKey<Company>.Text("name", c => c.Name),
        SortKey<Company>.Time("createdAt", c => c.CreatedAt),
        SortKey<Company>.Time("updatedAt", c => c.UpdatedAt));

    public async ValueTask<Result<Page<CompanyDto>>> Handle(ListCompanies query, CancellationToken cancellationToken)
    {
        var companies = (string.IsNullOrWhiteSpace(query.Q) ? db.Companies.Where(c => c.DeletedAt == null) : db.CompaniesMatching(query.Q))
            .WhereIf(query.OwnerId, ownerId => c => c.OwnerId == ownerId)
            .WhereIf(query.Domain, domain => c => c.Domain == domain.ToLowerInvariant())
            .WhereIf(query.Industry, industry => c => c.Industry == industry)
            .CreatedBetween(query.CreatedAfter, query.CreatedBefore);
        return await Sorts.PageAsync(companies, query, CompanyDto.From, cancellationToken);
    }
}
