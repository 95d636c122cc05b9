using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies.Queries.GetCompanyLogo;

/// <summary>The logo thumbnail enrichment found for a live company's current domain (docs/API.md, "Company logo").</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record GetCompanyLogo(Guid Id) : IQuery<Result<CompanyLogo>>, IOrgScopedRequest, IRecordRequest;

/// <summary>A PNG of at most 128 px; <see cref="Hash"/> (hex SHA-256 of the bytes) is its ETag.</summary>
public sealed record CompanyLogo(byte[] Png, string Hash, DateTimeOffset FetchedAt);

public sealed class GetCompanyLogoHandler(ITenantDbContext db) : IQueryHandler<GetCompanyLogo, Result<CompanyLogo>>
{
    public async ValueTask<Result<CompanyLogo>> Handle(GetCompanyLogo query, CancellationToken cancellationToken)
    {
        var current = await CompanyRecord.CurrentEnrichmentAsync(db, query.Id, cancellationToken);
        if (!current.IsSuccess)
        {
            return current.Error!;
        }

        var logo = await current.Value.Where(e => e.Logo != null && e.LogoHash != null)
            .Select(e => new CompanyLogo(e.Logo!, e.LogoHash!, e.FetchedAt)).FirstOrDefaultAsync(cancellationToken);
        return logo is null
            ? new Error(ErrorType.NotFound, ErrorCodes.NotFound, $"Company '{query.Id}' has no logo.")
            : logo;
    }
}
