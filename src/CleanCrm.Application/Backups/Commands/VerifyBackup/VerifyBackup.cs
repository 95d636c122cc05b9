using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Commands.VerifyBackup;

/// <summary>Recomputes the checksum of a stored backup and compares it with the one recorded when it was written.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record VerifyBackup(Guid BackupId, string? ClientAddress = null) : ICommand<Result<BackupVerificationDto>>, IOrgScopedRequest;

/// <summary>The outcome of recomputing a stored backup's checksum.</summary>
public sealed record BackupVerificationDto(
    Guid Id, bool Valid, string? ExpectedSha256, string? ActualSha256, long? ExpectedSizeBytes, long? ActualSizeBytes, string Detail);

public sealed class VerifyBackupHandler(
    ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, IBackupOperations backups, TimeProvider clock)
    : ICommandHandler<VerifyBackup, Result<BackupVerificationDto>>
{
    public async ValueTask<Result<BackupVerificationDto>> Handle(VerifyBackup command, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var backup = await db.Backups.AsNoTracking()
            .FirstOrDefaultAsync(b => b.Id == command.BackupId && b.OrganizationId == organizationId, cancellationToken);
        if (backup is null)
        {
            return Error.NotFound("Backup", command.BackupId);
        }

        if (backup.Status != BackupStatus.Succeeded)
        {
            return Error.Conflict(
                ErrorCodes.Conflict, $"Backup '{backup.Id}' is {Name(backup.Status)}; only a succeeded backup can be verified.");
        }

        var result = await VerifyAsync(backups, backup, cancellationToken);
        var outcome = result.Valid ? "valid" : result.Detail;
        BackupAccessLogWriter.Append(
            db, caller, clock, organizationId, BackupAccessAction.Verify, backup.Id, command.ClientAddress, outcome);
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    private static string Name(BackupStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>The check itself, shared with the platform admins' <c>VerifyAdminBackup</c>.</summary>
    internal static async Task<BackupVerificationDto> VerifyAsync(IBackupOperations operations, Backup backup,
        CancellationToken cancellationToken)
    {
        var actual = await operations.ComputeChecksumAsync(backup, cancellationToken);
        if (actual is null)
        {
            return new BackupVerificationDto(
                backup.Id, false, backup.Sha256, null, backup.SizeBytes, null, "The backup file is missing from the store.");
        }

        var valid = string.Equals(actual.Sha256, backup.Sha256, StringComparison.Ordinal) && actual.SizeBytes == backup.SizeBytes;
        return new BackupVerificationDto(
            backup.Id,
            valid,
            backup.Sha256,
            actual.Sha256,
            backup.SizeBytes,
            actual.SizeBytes,
            valid
                ? "The stored file matches the checksum recorded when it was written."
                : "checksum mismatch: the stored file differs from the one written at backup time.");
    }
}
