using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies;

/// <summary>How companies are written and read by the shared record handlers; the domain is unique among live companies.</summary>
internal static class CompanyRecord
{
    public static readonly CrmRecordType<Company, CompanyFields, CompanyDto> Type = new()
    {
        Resource = "Company",
        Rows = db => db.Companies,
        New = fields => new Company { Name = fields.Name! },
        Read = CompanyFields.From,
        Validator = new CompanyFieldsValidator(),
        Check = async (db, fields, current, ct) =>
            (fields.OwnerId != current?.OwnerId ? await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, ct) : null)
            ?? (fields.Domain is { } domain && domain != current?.Domain && await IsTakenAsync(db, domain, current?.Id, ct)
                ? DomainTaken(domain)
                : null),
        Apply = (fields, company, _) => fields.ApplyTo(company),
        ToDto = CompanyDto.From,
        Unique = new("ux_companies_domain_live", fields => DomainTaken(fields.Domain)),
    };

    /// <summary>Queues enrichment when the saved company has a domain it did not have before (docs/INTEGRATIONS.md).</summary>
    public static void EnrichIfNew(ITenantContext tenant, ICompanyEnrichmentQueue queue, Company company, string? previousDomain)
    {
        if (company.Domain is { } domain && domain != previousDomain && tenant.Current is { } current)
        {
            queue.Enqueue(current.OrganizationId, company.Id, domain);
        }
    }

    /// <summary>
    /// The enrichment rows of a live company for the domain it has now (a result found for a domain the company no longer
    /// has is stale and never shown: docs/API.md, "Company enrichment"), or not-found when there is no live company.
    /// </summary>
    public static async Task<Result<IQueryable<CompanyEnrichment>>> CurrentEnrichmentAsync(
        ITenantDbContext db, Guid companyId, CancellationToken cancellationToken)
    {
        var company = await db.Companies.AsNoTracking().Where(c => c.Id == companyId && c.DeletedAt == null)
            .Select(c => new { c.Domain }).FirstOrDefaultAsync(cancellationToken);
        return company is null
            ? Error.NotFound(Type.Resource, companyId)
            : Result<IQueryable<CompanyEnrichment>>.Success(
                db.CompanyEnrichments.AsNoTracking().Where(e => e.CompanyId == companyId && e.Domain == company.Domain));
    }

    private static Error DomainTaken(string? domain) =>
        CrmRecords.Duplicate("domain", $"A company with domain '{domain}' already exists.", "is already used by another company.");

    private static Task<bool> IsTakenAsync(ITenantDbContext db, string domain, Guid? exceptId, CancellationToken cancellationToken)
    {
        var except = exceptId ?? Guid.Empty;
        return db.Companies.AnyAsync(c => c.Domain == domain && c.DeletedAt == null && c.Id != except, cancellationToken);
    }
}
