using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups;

internal static class BackupEnums
{
    public static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    public static bool TryParse<TEnum>(string? text, out TEnum value)
        where TEnum : struct, Enum
    {
        value = default;
        foreach (var candidate in Enum.GetValues<TEnum>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.Ordinal))
            {
                value = candidate;
                return true;
            }
        }

        return false;
    }

    public static string List<TEnum>()
        where TEnum : struct, Enum => string.Join(", ", Enum.GetValues<TEnum>().Select(Name));
}

/// <summary>On-demand backup of one organization (SPEC §6.4 <c>POST /api/v1/admin/organizations/{id}/backups</c>).</summary>
[RequiresPlatformAdmin]
public sealed record StartOrganizationBackup(Guid OrganizationId) : ICommand<Result<AdminBackupDto>>;

public sealed class StartOrganizationBackupHandler(ICatalogDbContext db, IBackupOperations backups, ICallerContext caller) : ICommandHandler<StartOrganizationBackup, Result<AdminBackupDto>>
{
    public async ValueTask<Result<AdminBackupDto>> Handle(StartOrganizationBackup command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null || organization.Status == OrganizationStatus.Deleted)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.DatabaseServerId is null || organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended or OrganizationStatus.Deleting))
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Organization '{organization.Slug}' is {BackupEnums.Name(organization.Status)} and has no database to back up now.");
        }

        var id = await backups.QueueBackupAsync(organization.Id, BackupTrigger.Manual, caller.UserId, cancellationToken);
        var backup = await db.Backups.AsNoTracking().FirstAsync(b => b.Id == id, cancellationToken);
        return AdminBackupDto.From(backup);
    }
}

/// <summary>Backs up every active or suspended organization now (<c>POST /api/v1/admin/backups</c>).</summary>
[RequiresPlatformAdmin]
public sealed record StartFleetBackup : ICommand<Result<FleetBackupQueued>>;

public sealed class StartFleetBackupHandler(IBackupOperations backups, ICallerContext caller) : ICommandHandler<StartFleetBackup, Result<FleetBackupQueued>>
{
    public async ValueTask<Result<FleetBackupQueued>> Handle(StartFleetBackup command, CancellationToken cancellationToken) =>
        new FleetBackupQueued(await backups.QueueFleetBackupAsync(caller.UserId, cancellationToken));
}

/// <summary>Backups across the fleet with their progress and failure reasons (<c>GET /api/v1/admin/backups?orgId=&amp;status=</c>).</summary>
[RequiresPlatformAdmin]
public sealed record ListAdminBackups(Guid? OrganizationId = null, string? Status = null, int? Limit = null, string? Cursor = null) : IQuery<Result<Page<AdminBackupDto>>>;

public sealed class ListAdminBackupsValidator : AbstractValidator<ListAdminBackups>
{
    public ListAdminBackupsValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || BackupEnums.TryParse<BackupStatus>(s, out _)).WithMessage($"must be one of {BackupEnums.List<BackupStatus>()}.");
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(cursor => Common.Paging.Cursor.TryDecode(cursor, ListAdminBackupsHandler.Sort, out _)).WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class ListAdminBackupsHandler(ICatalogDbContext db) : IQueryHandler<ListAdminBackups, Result<Page<AdminBackupDto>>>
{
    internal const string Sort = "-queuedAt";

    private static readonly SortKey<Backup> Key = SortKey<Backup>.Time("queuedAt", b => b.QueuedAt);

    public async ValueTask<Result<Page<AdminBackupDto>>> Handle(ListAdminBackups query, CancellationToken cancellationToken)
    {
        var backups = db.Backups.AsNoTracking();
        if (query.OrganizationId is { } organizationId)
        {
            backups = backups.Where(b => b.OrganizationId == organizationId);
        }

        if (query.Status is not null && BackupEnums.TryParse<BackupStatus>(query.Status, out var status))
        {
            backups = backups.Where(b => b.Status == status);
        }

        Cursor.TryDecode(query.Cursor, Sort, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var rows = await Keyset.Seek(backups, Key, descending: true, after, b => b.Id).Take(limit + 1).ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, Key, Sort, b => b.Id, b => AdminBackupDto.From(b));
    }
}

/// <summary>One backup with its per-table row counts and content hashes.</summary>
[RequiresPlatformAdmin]
public sealed record GetAdminBackup(Guid BackupId) : IQuery<Result<AdminBackupDto>>;

public sealed class GetAdminBackupHandler(ICatalogDbContext db) : IQueryHandler<GetAdminBackup, Result<AdminBackupDto>>
{
    public async ValueTask<Result<AdminBackupDto>> Handle(GetAdminBackup query, CancellationToken cancellationToken)
    {
        var backup = await db.Backups.AsNoTracking().Include(b => b.Tables).FirstOrDefaultAsync(b => b.Id == query.BackupId, cancellationToken);
        return backup is null ? Error.NotFound("Backup", query.BackupId) : AdminBackupDto.From(backup, withTables: true);
    }
}

public sealed record RestoreBackupFields
{
    /// <summary>Where to restore; default the server the organization lives on now.</summary>
    public Guid? DatabaseServerId { get; init; }

    /// <summary><c>side_by_side</c> (a new database left for inspection) or <c>switch</c> (the organization is pointed at it).</summary>
    public string? Mode { get; init; }
}

/// <summary>Restores a backup into a new database and verifies it (SPEC §6.4 <c>POST /api/v1/admin/backups/{id}/restore</c>).</summary>
[RequiresPlatformAdmin]
public sealed record RestoreBackup(Guid BackupId, RestoreBackupFields Fields) : ICommand<Result<RestoreDto>>;

public sealed class RestoreBackupValidator : AbstractValidator<RestoreBackup>
{
    public RestoreBackupValidator()
    {
        RuleFor(x => x.Fields.Mode).NotEmpty().WithMessage("is required: side_by_side or switch.")
            .Must(mode => BackupEnums.TryParse<RestoreMode>(mode, out _)).WithMessage("must be side_by_side or switch.")
            .OverridePropertyName("mode");
        RuleFor(x => x.Fields.DatabaseServerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.").OverridePropertyName("databaseServerId");
    }
}

public sealed class RestoreBackupHandler(ICatalogDbContext db, IBackupOperations backups, ICallerContext caller, TimeProvider clock) : ICommandHandler<RestoreBackup, Result<RestoreDto>>
{
    public async ValueTask<Result<RestoreDto>> Handle(RestoreBackup command, CancellationToken cancellationToken)
    {
        BackupEnums.TryParse<RestoreMode>(command.Fields.Mode, out var mode);
        var backup = await db.Backups.AsNoTracking().FirstOrDefaultAsync(b => b.Id == command.BackupId, cancellationToken);
        if (backup is null)
        {
            return Error.NotFound("Backup", command.BackupId);
        }

        if (backup.Status != BackupStatus.Succeeded)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Backup '{backup.Id}' is {BackupEnums.Name(backup.Status)}; only a succeeded backup can be restored.");
        }

        var organization = await db.Organizations.AsNoTracking().FirstAsync(o => o.Id == backup.OrganizationId, cancellationToken);
        var serverId = command.Fields.DatabaseServerId ?? organization.DatabaseServerId ?? backup.DatabaseServerId;
        var server = serverId is null ? null : await db.DatabaseServers.AsNoTracking().FirstOrDefaultAsync(s => s.Id == serverId, cancellationToken);
        if (server is null)
        {
            return Error.Validation("databaseServerId", $"databaseServerId '{serverId}' does not name a database server.");
        }

        if (server.Status != DatabaseServerStatus.Active)
        {
            return Error.Validation("databaseServerId", $"Database server '{server.Name}' is {BackupEnums.Name(server.Status)}; choose an active one.");
        }

        if (mode == RestoreMode.Switch && organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended))
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Organization '{organization.Slug}' is {BackupEnums.Name(organization.Status)}; only an active or suspended organization can be switched to a restored database.");
        }

        if (mode == RestoreMode.Switch
            && await db.BackupRestores.AnyAsync(r => r.OrganizationId == organization.Id && r.Mode == RestoreMode.Switch && (r.Status == RestoreStatus.Queued || r.Status == RestoreStatus.Running || r.Status == RestoreStatus.Switched), cancellationToken))
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Organization '{organization.Slug}' has a switch restore that is running or not yet confirmed; confirm it first.");
        }

        var restore = new BackupRestore
        {
            BackupId = backup.Id,
            OrganizationId = organization.Id,
            TargetServerId = server.Id,
            Mode = mode,
            RequestedBy = caller.UserId,
            RequestedAt = clock.GetUtcNow(),
        };
        restore.DatabaseName = BackupRestore.ScratchDatabaseName(restore.Id);
        db.BackupRestores.Add(restore);
        await db.SaveChangesAsync(cancellationToken);
        await backups.QueueRestoreAsync(restore.Id, cancellationToken);
        return RestoreDto.From(restore);
    }
}

[RequiresPlatformAdmin]
public sealed record GetRestore(Guid RestoreId) : IQuery<Result<RestoreDto>>;

public sealed class GetRestoreHandler(ICatalogDbContext db) : IQueryHandler<GetRestore, Result<RestoreDto>>
{
    public async ValueTask<Result<RestoreDto>> Handle(GetRestore query, CancellationToken cancellationToken) =>
        await db.BackupRestores.AsNoTracking().FirstOrDefaultAsync(r => r.Id == query.RestoreId, cancellationToken) is { } restore
            ? RestoreDto.From(restore)
            : Error.NotFound("Restore", query.RestoreId);
}

/// <summary>
/// Confirms a finished restore: after a switch the old database is dropped; side by side, the inspected copy is dropped.
/// </summary>
[RequiresPlatformAdmin]
public sealed record ConfirmRestore(Guid RestoreId) : ICommand<Result<RestoreDto>>;

public sealed class ConfirmRestoreHandler(ICatalogDbContext db, IBackupOperations backups, TimeProvider clock) : ICommandHandler<ConfirmRestore, Result<RestoreDto>>
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
            return Error.Conflict(ErrorCodes.Conflict, $"Restore '{restore.Id}' is {BackupEnums.Name(restore.Status)}; only a verified or switched restore can be confirmed.");
        }

        await backups.DropRestoreLeftoverAsync(restore, cancellationToken);
        restore.Status = RestoreStatus.Confirmed;
        restore.ConfirmedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return RestoreDto.From(restore);
    }
}

/// <summary>Any organization's backup access log, for platform admins.</summary>
[RequiresPlatformAdmin]
public sealed record GetOrganizationBackupAccessLog(Guid OrganizationId, int? Limit = null, string? Cursor = null) : IQuery<Result<BackupAccessLogPage>>;

public sealed class GetOrganizationBackupAccessLogValidator : AbstractValidator<GetOrganizationBackupAccessLog>
{
    public GetOrganizationBackupAccessLogValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(BackupAccessLogWriter.IsCursor).WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class GetOrganizationBackupAccessLogHandler(ICatalogDbContext db) : IQueryHandler<GetOrganizationBackupAccessLog, Result<BackupAccessLogPage>>
{
    public async ValueTask<Result<BackupAccessLogPage>> Handle(GetOrganizationBackupAccessLog query, CancellationToken cancellationToken)
    {
        if (!await db.Organizations.AnyAsync(o => o.Id == query.OrganizationId, cancellationToken))
        {
            return Error.NotFound("Organization", query.OrganizationId);
        }

        return await BackupAccessLogWriter.PageAsync(db, query.OrganizationId, query.Limit, query.Cursor, cancellationToken);
    }
}
