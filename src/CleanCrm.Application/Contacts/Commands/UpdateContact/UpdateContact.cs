using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Contacts.Commands.UpdateContact;

/// <summary>JSON merge patch of a contact; <paramref name="IfMatch"/> is the version the client saw (optional).</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateContact(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<ContactDto>>, IOrgScopedRequest;

public sealed class UpdateContactHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateContact, Result<ContactDto>>
{
    private static readonly ContactFieldsValidator Validator = new();

    public async ValueTask<Result<ContactDto>> Handle(UpdateContact command, CancellationToken cancellationToken)
    {
        var contact = await db.Contacts.FirstOrDefaultAsync(c => c.Id == command.Id && c.DeletedAt == null, cancellationToken);
        if (contact is null)
        {
            return ContactErrors.NotFound(command.Id);
        }

        if (command.IfMatch is { } expected && expected != contact.Version)
        {
            return Error.PreconditionFailed($"Contact '{command.Id}' changed since version {expected}; fetch it again and retry.");
        }

        var merged = JsonMergePatch.Apply(ContactFields.From(contact), command.Patch);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        var validation = await Validator.ValidateAsync(fields, cancellationToken);
        if (!validation.IsValid)
        {
            return ValidationErrors.From(validation.Errors);
        }

        if (fields.OwnerId != contact.OwnerId && await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, cancellationToken) is { } ownerError)
        {
            return ownerError;
        }

        if (fields.CompanyId != contact.CompanyId && await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, cancellationToken) is { } companyError)
        {
            return companyError;
        }

        if (fields.NormalizedEmail is { } email && email != contact.Email
            && await db.Contacts.AnyAsync(c => c.Email == email && c.DeletedAt == null && c.Id != contact.Id, cancellationToken))
        {
            return ContactErrors.EmailTaken(email);
        }

        db.ExpectVersion(contact, command.IfMatch ?? contact.Version);
        fields.ApplyTo(contact);
        contact.UpdatedAt = clock.GetUtcNow();
        contact.UpdatedBy = caller.UserId;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConcurrencyConflictException)
        {
            return Error.PreconditionFailed($"Contact '{command.Id}' was changed by someone else meanwhile; fetch it again and retry.");
        }
        catch (ConstraintViolationException exception) when (ContactErrors.FromConstraint(exception, fields.NormalizedEmail) is { } error)
        {
            return error;
        }

        return ContactDto.From(contact);
    }
}
