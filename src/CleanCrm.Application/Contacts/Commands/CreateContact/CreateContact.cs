using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Contacts.Commands.CreateContact;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateContact(ContactFields Fields) : ICommand<Result<ContactDto>>, IOrgScopedRequest;

public sealed class CreateContactValidator : AbstractValidator<CreateContact>
{
    public CreateContactValidator() => RuleFor(x => x.Fields).SetValidator(new ContactFieldsValidator());
}

public sealed class CreateContactHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<CreateContact, Result<ContactDto>>
{
    public async ValueTask<Result<ContactDto>> Handle(CreateContact command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        var referenceError = await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, cancellationToken)
                             ?? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, cancellationToken);
        if (referenceError is not null)
        {
            return referenceError;
        }

        if (fields.NormalizedEmail is { } email && await db.Contacts.AnyAsync(c => c.Email == email && c.DeletedAt == null, cancellationToken))
        {
            return ContactErrors.EmailTaken(email);
        }

        var now = clock.GetUtcNow();
        var contact = new Contact { CreatedAt = now, UpdatedAt = now, CreatedBy = caller.UserId, UpdatedBy = caller.UserId };
        fields.ApplyTo(contact);
        db.Contacts.Add(contact);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConstraintViolationException exception) when (ContactErrors.FromConstraint(exception, fields.NormalizedEmail) is { } error)
        {
            return error;
        }

        return ContactDto.From(contact);
    }
}
