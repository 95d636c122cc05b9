using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Companies.Commands.UpdateCompany;

/// <summary>JSON merge patch of a company; <paramref name="IfMatch"/> is the version the client saw (optional).</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateCompany(Guid Id, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<CompanyDto>>, IOrgScopedRequest, IUpdateRecord;

/// <summary>Patches the company, then queues the enrichment of its domain once committed when the domain changed.</summary>
public sealed class UpdateCompanyHandler(
    ITenantDbContext db, ICallerContext caller, TimeProvider clock, ITenantContext tenant, ICompanyEnrichmentQueue enrichment)
    : UpdateRecordHandler<UpdateCompany, Company, CompanyFields, CompanyDto>(db, caller, clock, CompanyRecord.Type)
{
    protected override ValueTask SavedAsync(Company entity, CompanyFields before, CancellationToken cancellationToken)
    {
        CompanyRecord.EnrichIfNew(tenant, enrichment, entity, before.Domain);
        return ValueTask.CompletedTask;
    }
}
