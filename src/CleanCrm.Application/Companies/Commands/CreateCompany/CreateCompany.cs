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

public sealed class CreateCompanyHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateCompany, Company, CompanyFields, CompanyDto>(db, caller, clock, CompanyRecord.Type);
