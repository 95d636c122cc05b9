using System.Globalization;
using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups;

/// <summary>Appends to the backup access log; the catalog refuses to change or delete its rows.</summary>
internal static class BackupAccessLogWriter
{
    public static void Append(ICatalogDbContext db, ICallerContext caller, TimeProvider clock, Guid organizationId, BackupAccessAction action, Guid? backupId, string? clientAddress, string outcome) =>
        db.BackupAccessLog.Add(new BackupAccessEntry
        {
            OrganizationId = organizationId,
            BackupId = backupId,
            UserId = caller.UserId,
            ByPlatformAdmin = caller.IsPlatformAdmin && caller.Role is null,
            Action = action,
            OccurredAt = clock.GetUtcNow(),
            ClientAddress = clientAddress is { Length: > 64 } ? clientAddress[..64] : clientAddress,
            Outcome = outcome.Length > 500 ? outcome[..500] : outcome,
        });

    public static async Task<BackupAccessLogPage> PageAsync(ICatalogDbContext db, Guid organizationId, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var size = limit ?? Cursor.DefaultLimit;
        var entries = db.BackupAccessLog.AsNoTracking().Where(e => e.OrganizationId == organizationId);
        if (cursor is not null)
        {
            var before = long.Parse(cursor, CultureInfo.InvariantCulture);
            entries = entries.Where(e => e.Id < before);
        }

        var rows = await entries.OrderByDescending(e => e.Id).Take(size + 1).ToListAsync(cancellationToken);
        var next = rows.Count > size ? rows[size - 1].Id.ToString(CultureInfo.InvariantCulture) : null;
        return new BackupAccessLogPage([.. rows.Take(size).Select(BackupAccessEntryDto.From)], next);
    }

    public static bool IsCursor(string? cursor) => cursor is null || (long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0);
}

internal static class BackupRetention
{
    public static async Task<int> DaysAsync(ICatalogDbContext db, string planKey, CancellationToken cancellationToken) =>
        await db.Plans.Where(p => p.Key == planKey).Select(p => p.BackupRetentionDays).FirstOrDefaultAsync(cancellationToken);
}

/// <summary>The organization's backups, newest first (SPEC §6.3 <c>GET /api/v1/backups</c>); recorded in the access log.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record ListBackups(int? Limit = null, string? Cursor = null, string? ClientAddress = null) : IQuery<Result<Page<BackupDto>>>, IOrgScopedRequest;

public sealed class ListBackupsValidator : AbstractValidator<ListBackups>
{
    public ListBackupsValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(cursor => Common.Paging.Cursor.TryDecode(cursor, ListBackupsHandler.Sort, out _))
            .WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class ListBackupsHandler(ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, TimeProvider clock) : IQueryHandler<ListBackups, Result<Page<BackupDto>>>
{
    internal const string Sort = "-queuedAt";

    private static readonly SortKey<Backup> Key = SortKey<Backup>.Time("queuedAt", b => b.QueuedAt);

    public async ValueTask<Result<Page<BackupDto>>> Handle(ListBackups query, CancellationToken cancellationToken)
    {
        var organization = tenant.Current!;
        Cursor.TryDecode(query.Cursor, Sort, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var retention = await BackupRetention.DaysAsync(db, organization.PlanKey, cancellationToken);
        var rows = await Keyset.Seek(db.Backups.AsNoTracking().Where(b => b.OrganizationId == organization.OrganizationId), Key, descending: true, after, b => b.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);
        var page = Keyset.ToPage(rows, limit, Key, Sort, b => b.Id, b => BackupDto.From(b, retention));
        BackupAccessLogWriter.Append(db, caller, clock, organization.OrganizationId, BackupAccessAction.List, null, query.ClientAddress, $"{page.Items.Count} backups");
        await db.SaveChangesAsync(cancellationToken);
        return page;
    }
}

/// <summary>Recomputes the checksum of a stored backup and compares it with the one recorded when it was written.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record VerifyBackup(Guid BackupId, string? ClientAddress = null) : ICommand<Result<BackupVerificationDto>>, IOrgScopedRequest;

public sealed class VerifyBackupHandler(ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, IBackupOperations backups, TimeProvider clock)
    : ICommandHandler<VerifyBackup, Result<BackupVerificationDto>>
{
    public async ValueTask<Result<BackupVerificationDto>> Handle(VerifyBackup command, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var backup = await db.Backups.AsNoTracking().FirstOrDefaultAsync(b => b.Id == command.BackupId && b.OrganizationId == organizationId, cancellationToken);
        if (backup is null)
        {
            return Error.NotFound("Backup", command.BackupId);
        }

        if (backup.Status != BackupStatus.Succeeded)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Backup '{backup.Id}' is {Name(backup.Status)}; only a succeeded backup can be verified.");
        }

        var result = await BackupVerification.VerifyAsync(backups, backup, cancellationToken);
        BackupAccessLogWriter.Append(db, caller, clock, organizationId, BackupAccessAction.Verify, backup.Id, command.ClientAddress, result.Valid ? "valid" : result.Detail);
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    private static string Name(BackupStatus status) => status.ToString().ToLowerInvariant();
}

internal static class BackupVerification
{
    public static async Task<BackupVerificationDto> VerifyAsync(IBackupOperations backups, Backup backup, CancellationToken cancellationToken)
    {
        var actual = await backups.ComputeChecksumAsync(backup, cancellationToken);
        if (actual is null)
        {
            return new BackupVerificationDto(backup.Id, false, backup.Sha256, null, backup.SizeBytes, null, "The backup file is missing from the store.");
        }

        var valid = string.Equals(actual.Sha256, backup.Sha256, StringComparison.Ordinal) && actual.SizeBytes == backup.SizeBytes;
        return new BackupVerificationDto(
            backup.Id,
            valid,
            backup.Sha256,
            actual.Sha256,
            backup.SizeBytes,
            actual.SizeBytes,
            valid ? "The stored file matches the checksum recorded when it was written." : "checksum mismatch: the stored file differs from the one written at backup time.");
    }
}

/// <summary>Streams a stored backup (SPEC §6.3 <c>GET /api/v1/backups/{id}/download</c>); recorded in the access log.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record DownloadBackup(Guid BackupId, string? ClientAddress = null) : IQuery<Result<BackupDownload>>, IOrgScopedRequest;

public sealed class DownloadBackupHandler(ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, IBackupOperations backups, TimeProvider clock)
    : IQueryHandler<DownloadBackup, Result<BackupDownload>>
{
    public async ValueTask<Result<BackupDownload>> Handle(DownloadBackup query, CancellationToken cancellationToken)
    {
        var organization = tenant.Current!;
        var backup = await db.Backups.AsNoTracking().FirstOrDefaultAsync(b => b.Id == query.BackupId && b.OrganizationId == organization.OrganizationId, cancellationToken);
        if (backup is null)
        {
            return Error.NotFound("Backup", query.BackupId);
        }

        if (backup.Status != BackupStatus.Succeeded || backup.Sha256 is null)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Backup '{backup.Id}' is {backup.Status.ToString().ToLowerInvariant()}; only a succeeded backup can be downloaded.");
        }

        var content = await backups.OpenAsync(backup, cancellationToken);
        BackupAccessLogWriter.Append(db, caller, clock, organization.OrganizationId, BackupAccessAction.Download, backup.Id, query.ClientAddress, content is null ? "missing from the store" : $"{content.Length} bytes");
        await db.SaveChangesAsync(cancellationToken);
        if (content is null)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Backup '{backup.Id}' is missing from the backup store; a platform admin has been told by its failed verification.");
        }

        var fileName = $"{organization.Slug}-{backup.FinishedAt!.Value.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}-{backup.Id:N}.dump";
        return new BackupDownload(content.Content, content.Length, backup.Sha256, fileName);
    }
}

/// <summary>Who listed, verified or downloaded the organization's backups, newest first.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record ListBackupAccessLog(int? Limit = null, string? Cursor = null, string? ClientAddress = null) : IQuery<Result<BackupAccessLogPage>>, IOrgScopedRequest;

public sealed class ListBackupAccessLogValidator : AbstractValidator<ListBackupAccessLog>
{
    public ListBackupAccessLogValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(BackupAccessLogWriter.IsCursor).WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class ListBackupAccessLogHandler(ICatalogDbContext db, ITenantContext tenant) : IQueryHandler<ListBackupAccessLog, Result<BackupAccessLogPage>>
{
    public async ValueTask<Result<BackupAccessLogPage>> Handle(ListBackupAccessLog query, CancellationToken cancellationToken) =>
        await BackupAccessLogWriter.PageAsync(db, tenant.Current!.OrganizationId, query.Limit, query.Cursor, cancellationToken);
}
