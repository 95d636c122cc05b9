using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Contacts.Commands.DeleteContact;

/// <summary>Soft delete: the row stays for audit and restore, it disappears from every read.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteContact(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteContactHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteContact, Contact>(db, caller, clock, ContactRecord.Type);
