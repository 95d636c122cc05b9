using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Commands.ConfirmRestore;

/// <summary>
/// Confirms a finished restore: after a switch the old database is dropped; side by side, the inspected copy is dropped.
/// </summary>
[RequiresPlatformAdmin]
public sealed record ConfirmRestore(Guid RestoreId) : ICommand<Result<RestoreDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => RestoreId;
}

public sealed class ConfirmRestoreHandler(ICatalogDbContext db, IBackupOperations backups, TimeProvider clock)
    : ICommandHandler<ConfirmRestore, Result<RestoreDto>>
{
    public async ValueTask<Result<RestoreDto>> Handle(ConfirmRestore command, CancellationToken cancellationToken)
    {
        var restore = await db.BackupRestores.FirstOrDefaultAsync(r => r.Id == command.RestoreId, cancellationToken);
        if (restore is null)
        {
            return Error.NotFound("Restore", command.RestoreId);
        }

        if (restore.Status == RestoreStatus.Confirmed)
        {
            return RestoreDto.From(restore);
        }

        if (restore.Status is not (RestoreStatus.Verified or RestoreStatus.Switched))
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Restore '{restore.Id}' is {BackupEnums.Name(restore.Status)}; only a verified or switched restore can be confirmed.");
        }

        await backups.DropRestoreLeftoverAsync(restore, cancellationToken);
        restore.Status = RestoreStatus.Confirmed;
        restore.ConfirmedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return RestoreDto.From(restore);
    }
}
