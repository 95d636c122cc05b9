using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Contacts.Commands.CreateContact;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateContact(ContactFields Fields) : ICommand<Result<ContactDto>>, IOrgScopedRequest, ICreateRecord<ContactFields>;

public sealed class CreateContactValidator() : CreateRecordValidator<CreateContact, ContactFields>(ContactRecord.Type.Validator);

public sealed class CreateContactHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateContact, Contact, ContactFields, ContactDto>(db, caller, clock, ContactRecord.Type);
