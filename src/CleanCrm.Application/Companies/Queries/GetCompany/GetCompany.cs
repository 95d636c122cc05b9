using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Companies.Queries.GetCompany;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetCompany(Guid Id) : IQuery<Result<CompanyDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetCompanyHandler(ITenantDbContext db)
    : GetRecordHandler<GetCompany, Company, CompanyFields, CompanyDto>(db, CompanyRecord.Type);
