using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies.Queries.GetCompanyEnrichment;

/// <summary>What company enrichment found on the web site of a live company's current domain (docs/API.md, "Company enrichment").</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record GetCompanyEnrichment(Guid Id) : IQuery<Result<CompanyEnrichmentDto>>, IOrgScopedRequest, IRecordRequest;

/// <summary>
/// The site's title and description as its metadata states them (plain text, never HTML), whether a logo is served at
/// <c>GET /api/v1/companies/{id}/logo</c>, and why nothing was found when <see cref="Status"/> is <c>failed</c>.
/// </summary>
public sealed record CompanyEnrichmentDto(
    string Domain,
    string Status,
    string? Title,
    string? Description,
    bool HasLogo,
    string? Failure,
    DateTimeOffset FetchedAt);

public sealed class GetCompanyEnrichmentHandler(ITenantDbContext db)
    : IQueryHandler<GetCompanyEnrichment, Result<CompanyEnrichmentDto>>
{
    public async ValueTask<Result<CompanyEnrichmentDto>> Handle(GetCompanyEnrichment query, CancellationToken cancellationToken)
    {
        var current = await CompanyRecord.CurrentEnrichmentAsync(db, query.Id, cancellationToken);
        if (!current.IsSuccess)
        {
            return current.Error!;
        }

        var found = await current.Value
            .Select(e => new CompanyEnrichmentDto(e.Domain, e.Status == EnrichmentStatus.Enriched ? "enriched" : "failed", e.Title,
                e.Description, e.Logo != null && e.LogoHash != null, e.Failure, e.FetchedAt))
            .FirstOrDefaultAsync(cancellationToken);
        return found is null
            ? new Error(ErrorType.NotFound, ErrorCodes.NotFound, $"Company '{query.Id}' has not been enriched for its current domain.")
            : found;
    }
}
