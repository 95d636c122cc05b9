using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Contacts.Queries.GetContact;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetContact(Guid Id) : IQuery<Result<ContactDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetContactHandler(ITenantDbContext db)
    : GetRecordHandler<GetContact, Contact, ContactFields, ContactDto>(db, ContactRecord.Type);
