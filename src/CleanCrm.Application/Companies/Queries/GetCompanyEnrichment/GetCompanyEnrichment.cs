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
        var company = await db.Companies.AsNoTracking().Where(c => c.Id == query.Id && c.DeletedAt == null)
            .Select(c => new { c.Domain }).FirstOrDefaultAsync(cancellationToken);
        if (company is null)
        {
            return Error.NotFound(CompanyRecord.Type.Resource, query.Id);
        }

        // A result for a domain the company no longer has is stale: not shown (the same rule as the logo).
        var found = await db.CompanyEnrichments.AsNoTracking()
            .Where(e => e.CompanyId == query.Id && e.Domain == company.Domain)
            .Select(e => new CompanyEnrichmentDto(e.Domain, e.Status == EnrichmentStatus.Enriched ? "enriched" : "failed", e.Title,
                e.Description, e.Logo != null && e.LogoHash != null, e.Failure, e.FetchedAt))
            .FirstOrDefaultAsync(cancellationToken);
        return found is null
            ? new Error(ErrorType.NotFound, ErrorCodes.NotFound, $"Company '{query.Id}' has not been enriched for its current domain.")
            : found;
    }
}
