using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies.Commands.DeleteCompany;

/// <summary>Soft delete: the row stays for audit and restore, it disappears from every read.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteCompany(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteCompanyHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<DeleteCompany, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteCompany command, CancellationToken cancellationToken)
    {
        var company = await db.Companies.FirstOrDefaultAsync(c => c.Id == command.Id && c.DeletedAt == null, cancellationToken);
        if (company is null)
        {
            return CompanyErrors.NotFound(command.Id);
        }

        if (command.IfMatch is { } expected && expected != company.Version)
        {
            return Error.PreconditionFailed($"Company '{command.Id}' changed since version {expected}.");
        }

        var now = clock.GetUtcNow();
        company.DeletedAt = now;
        company.UpdatedAt = now;
        company.UpdatedBy = caller.UserId;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConcurrencyConflictException)
        {
            return Error.PreconditionFailed($"Company '{command.Id}' was changed by someone else meanwhile.");
        }

        return Unit.Value;
    }
}
