using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Contacts.Commands.UpdateContact;

/// <summary>JSON merge patch of a contact; <paramref name="IfMatch"/> is the version the client saw (optional).</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateContact(Guid Id, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<ContactDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateContactHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateContact, Contact, ContactFields, ContactDto>(db, caller, clock, ContactRecord.Type);
