using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Contacts;

/// <summary>How contacts are written and read by the shared record handlers; the email is unique among live contacts.</summary>
internal static class ContactRecord
{
    public static readonly CrmRecordType<Contact, ContactFields, ContactDto> Type = new()
    {
        Resource = "Contact",
        Rows = db => db.Contacts,
        New = _ => new Contact(),
        Read = ContactFields.From,
        Validator = new ContactFieldsValidator(),
        Check = async (db, fields, current, ct) =>
            (fields.OwnerId != current?.OwnerId ? await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, ct) : null)
            ?? (fields.CompanyId != current?.CompanyId
                ? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, "companyId", ct)
                : null)
            ?? (fields.NormalizedEmail is { } email && email != current?.Email && await IsTakenAsync(db, email, current?.Id, ct)
                ? EmailTaken(email)
                : null),
        Apply = (fields, contact, _) => fields.ApplyTo(contact),
        ToDto = ContactDto.From,
        Unique = new("ux_contacts_email_live", fields => EmailTaken(fields.NormalizedEmail)),
    };

    private static Error EmailTaken(string? email) =>
        CrmRecords.Duplicate("email", $"A contact with email '{email}' already exists.", "is already used by another contact.");

    private static Task<bool> IsTakenAsync(ITenantDbContext db, string email, Guid? exceptId, CancellationToken cancellationToken)
    {
        var except = exceptId ?? Guid.Empty;
        return db.Contacts.AnyAsync(c => c.Email == email && c.DeletedAt == null && c.Id != except, cancellationToken);
    }
}
