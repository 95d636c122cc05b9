using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Companies.Commands.CreateCompany;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateCompany(CompanyFields Fields) : ICommand<Result<CompanyDto>>, IOrgScopedRequest, ICreateRecord<CompanyFields>;

public sealed class CreateCompanyValidator() : CreateRecordValidator<CreateCompany, CompanyFields>(CompanyRecord.Type.Validator);

/// <summary>Creates the company, then queues the enrichment of its domain (if any) once the row is committed.</summary>
public sealed class CreateCompanyHandler(
    ITenantDbContext db, ICallerContext caller, TimeProvider clock, ITenantContext tenant, ICompanyEnrichmentQueue enrichment)
    : CreateRecordHandler<CreateCompany, Company, CompanyFields, CompanyDto>(db, caller, clock, CompanyRecord.Type)
{
    protected override ValueTask SavedAsync(Company entity, CancellationToken cancellationToken)
    {
        CompanyRecord.EnrichIfNew(tenant, enrichment, entity, previousDomain: null);
        return ValueTask.CompletedTask;
    }
}
