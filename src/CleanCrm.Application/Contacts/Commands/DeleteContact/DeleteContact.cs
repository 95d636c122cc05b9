using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Contacts.Commands.DeleteContact;

/// <summary>Soft delete: the row stays for audit and restore, it disappears from every read.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteContact(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteContactHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<DeleteContact, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteContact command, CancellationToken cancellationToken)
    {
        var contact = await db.Contacts.FirstOrDefaultAsync(c => c.Id == command.Id && c.DeletedAt == null, cancellationToken);
        if (contact is null)
        {
            return ContactErrors.NotFound(command.Id);
        }

        if (command.IfMatch is { } expected && expected != contact.Version)
        {
            return Error.PreconditionFailed($"Contact '{command.Id}' changed since version {expected}.");
        }

        var now = clock.GetUtcNow();
        contact.DeletedAt = now;
        contact.UpdatedAt = now;
        contact.UpdatedBy = caller.UserId;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConcurrencyConflictException)
        {
            return Error.PreconditionFailed($"Contact '{command.Id}' was changed by someone else meanwhile.");
        }

        return Unit.Value;
    }
}
