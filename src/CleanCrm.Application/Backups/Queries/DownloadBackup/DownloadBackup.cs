using System.Globalization;
using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Queries.DownloadBackup;

/// <summary>Streams a stored backup (<c>GET /api/v1/backups/{id}/download</c>, docs/BACKUPS.md); recorded in the access log.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record DownloadBackup(Guid BackupId, string? ClientAddress = null) : IQuery<Result<BackupDownload>>, IOrgScopedRequest;

/// <summary>A stored backup being downloaded; the endpoint streams and disposes <see cref="Content"/>.</summary>
public sealed record BackupDownload(Stream Content, long Length, string Sha256, string FileName);

public sealed class DownloadBackupHandler(
    ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, IBackupOperations backups, TimeProvider clock)
    : IQueryHandler<DownloadBackup, Result<BackupDownload>>
{
    public async ValueTask<Result<BackupDownload>> Handle(DownloadBackup query, CancellationToken cancellationToken)
    {
        var organization = tenant.Current!;
        var backup = await db.Backups.AsNoTracking()
            .FirstOrDefaultAsync(b => b.Id == query.BackupId && b.OrganizationId == organization.OrganizationId, cancellationToken);
        if (backup is null)
        {
            return Error.NotFound("Backup", query.BackupId);
        }

        if (backup.Status != BackupStatus.Succeeded || backup.Sha256 is null)
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Backup '{backup.Id}' is {backup.Status.ToString().ToLowerInvariant()}; only a succeeded backup can be downloaded.");
        }

        var content = await backups.OpenAsync(backup, cancellationToken);
        var outcome = content is null ? "missing from the store" : $"{content.Length} bytes";
        BackupAccessLogWriter.Append(
            db, caller, clock, organization.OrganizationId, BackupAccessAction.Download, backup.Id, query.ClientAddress, outcome);
        await db.SaveChangesAsync(cancellationToken);
        if (content is null)
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Backup '{backup.Id}' is missing from the backup store; a platform admin has been told by its failed verification.");
        }

        var finished = backup.FinishedAt!.Value.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        return new BackupDownload(content.Content, content.Length, backup.Sha256, $"{organization.Slug}-{finished}-{backup.Id:N}.dump");
    }
}
