using CleanCrm.Application.Backups.Commands.VerifyBackup;
using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Commands.VerifyAdminBackup;

/// <summary>
/// A platform admin recomputes a stored backup's checksum (the provisioning console's "Verify", docs/CONSOLE.md); the same
/// check as the organization's own <c>VerifyBackup</c>, recorded in the organization's backup access log.
/// </summary>
[RequiresPlatformAdmin]
public sealed record VerifyAdminBackup(Guid BackupId) : ICommand<Result<BackupVerificationDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => BackupId;
}

public sealed class VerifyAdminBackupHandler(ICatalogDbContext db, ICallerContext caller, IBackupOperations backups, TimeProvider clock)
    : ICommandHandler<VerifyAdminBackup, Result<BackupVerificationDto>>
{
    public async ValueTask<Result<BackupVerificationDto>> Handle(VerifyAdminBackup command, CancellationToken cancellationToken)
    {
        var backup = await db.Backups.AsNoTracking().FirstOrDefaultAsync(b => b.Id == command.BackupId, cancellationToken);
        if (backup is null)
        {
            return Error.NotFound("Backup", command.BackupId);
        }

        if (backup.Status != BackupStatus.Succeeded)
        {
            return Error.Conflict(ErrorCodes.Conflict,
                $"Backup '{backup.Id}' is {BackupEnums.Name(backup.Status)}; only a succeeded backup can be verified.");
        }

        var result = await VerifyBackupHandler.VerifyAsync(backups, backup, cancellationToken);
        BackupAccessLogWriter.Append(db, caller, clock, backup.OrganizationId, BackupAccessAction.Verify, backup.Id, null,
            result.Valid ? "valid" : result.Detail);
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }
}
