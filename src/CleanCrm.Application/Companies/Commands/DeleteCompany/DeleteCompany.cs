using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Companies.Commands.DeleteCompany;

/// <summary>Soft delete: the row stays for audit and restore, it disappears from every read.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteCompany(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteCompanyHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteCompany, Company>(db, caller, clock, CompanyRecord.Type);
