using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

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
    DateTimeOffset? CreatedBefore = null) : IQuery<Result<Page<CompanyDto>>>, IOrgScopedRequest;

public sealed class ListCompaniesValidator : AbstractValidator<ListCompanies>
{
    public ListCompaniesValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Sort)
            .Must(sort => SortOrder.TryParse(sort, ListCompaniesHandler.SortKeys.Keys, "createdAt", out _))
            .WithMessage($"must be one of {string.Join(", ", ListCompaniesHandler.SortKeys.Keys)} (prefix '-' for descending).");
        RuleFor(x => x.Cursor)
            .Must((query, cursor) => !SortOrder.TryParse(query.Sort, ListCompaniesHandler.SortKeys.Keys, "createdAt", out var order)
                                     || Common.Paging.Cursor.TryDecode(cursor, order.Text, out _))
            .WithMessage("is not a cursor returned by this list with the same sort.");
        RuleFor(x => x.Q).MaximumLength(200).WithMessage("must be at most 200 characters.");
    }
}

public sealed class ListCompaniesHandler(ITenantDbContext db) : IQueryHandler<ListCompanies, Result<Page<CompanyDto>>>
{
    public static readonly IReadOnlyDictionary<string, SortKey<Company>> SortKeys = new Dictionary<string, SortKey<Company>>
    {
        ["name"] = SortKey<Company>.Text("name", c => c.Name),
        ["createdAt"] = SortKey<Company>.Time("createdAt", c => c.CreatedAt),
        ["updatedAt"] = SortKey<Company>.Time("updatedAt", c => c.UpdatedAt),
    };

    public async ValueTask<Result<Page<CompanyDto>>> Handle(ListCompanies query, CancellationToken cancellationToken)
    {
        SortOrder.TryParse(query.Sort, SortKeys.Keys, "createdAt", out var order);
        Cursor.TryDecode(query.Cursor, order.Text, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;

        var companies = string.IsNullOrWhiteSpace(query.Q) ? db.Companies.Where(c => c.DeletedAt == null) : db.CompaniesMatching(query.Q);
        if (query.OwnerId is { } ownerId)
        {
            companies = companies.Where(c => c.OwnerId == ownerId);
        }

        if (query.Domain is { } domain)
        {
            companies = companies.Where(c => c.Domain == domain.ToLowerInvariant());
        }

        if (query.Industry is { } industry)
        {
            companies = companies.Where(c => c.Industry == industry);
        }

        if (query.CreatedAfter is { } createdAfter)
        {
            companies = companies.Where(c => c.CreatedAt >= createdAfter);
        }

        if (query.CreatedBefore is { } createdBefore)
        {
            companies = companies.Where(c => c.CreatedAt < createdBefore);
        }

        var key = SortKeys[order.Field];
        var rows = await Keyset.Seek(companies.AsNoTracking(), key, order.Descending, after, c => c.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, key, order.Text, c => c.Id, CompanyDto.From);
    }
}
