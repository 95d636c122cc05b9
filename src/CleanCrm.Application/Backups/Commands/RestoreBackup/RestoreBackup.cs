using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Commands.RestoreBackup;

public sealed record RestoreBackupFields
{
    /// <summary>Where to restore; default the server the organization lives on now.</summary>
    public Guid? DatabaseServerId { get; init; }

    /// <summary><c>side_by_side</c> (a new database left for inspection) or <c>switch</c> (the organization is pointed at it).</summary>
    public string? Mode { get; init; }
}

/// <summary>
/// Restores a backup into a new database and verifies it (<c>POST /api/v1/admin/backups/{id}/restore</c>; the procedure is in
/// docs/BACKUPS.md).
/// </summary>
[RequiresPlatformAdmin]
public sealed record RestoreBackup(Guid BackupId, RestoreBackupFields Fields) : ICommand<Result<RestoreDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => BackupId;
}

public sealed class RestoreBackupValidator : AbstractValidator<RestoreBackup>
{
    public RestoreBackupValidator()
    {
        RuleFor(x => x.Fields.Mode).NotEmpty().WithMessage("is required: side_by_side or switch.")
            .Must(mode => BackupEnums.TryParse<RestoreMode>(mode, out _)).WithMessage("must be side_by_side or switch.")
            .OverridePropertyName("mode");
        RuleFor(x => x.Fields.DatabaseServerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .OverridePropertyName("databaseServerId");
    }
}

public sealed class RestoreBackupHandler(ICatalogDbContext db, IBackupOperations backups, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<RestoreBackup, Result<RestoreDto>>
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
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Backup '{backup.Id}' is {BackupEnums.Name(backup.Status)}; only a succeeded backup can be restored.");
        }

        var organization = await db.Organizations.AsNoTracking().FirstAsync(o => o.Id == backup.OrganizationId, cancellationToken);
        var serverId = command.Fields.DatabaseServerId ?? organization.DatabaseServerId ?? backup.DatabaseServerId;
        var server = serverId is null
            ? null
            : await db.DatabaseServers.AsNoTracking().FirstOrDefaultAsync(s => s.Id == serverId, cancellationToken);
        if (server is null)
        {
            return Error.Validation("databaseServerId", $"databaseServerId '{serverId}' does not name a database server.");
        }

        if (server.Status != DatabaseServerStatus.Active)
        {
            return Error.Validation(
                "databaseServerId", $"Database server '{server.Name}' is {BackupEnums.Name(server.Status)}; choose an active one.");
        }

        if (mode == RestoreMode.Switch && organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended))
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Organization '{organization.Slug}' is {BackupEnums.Name(organization.Status)}; "
                + "only an active or suspended organization can be switched to a restored database.");
        }

        if (mode == RestoreMode.Switch
            && await db.BackupRestores.AnyAsync(
                r => r.OrganizationId == organization.Id && r.Mode == RestoreMode.Switch
                     && (r.Status == RestoreStatus.Queued || r.Status == RestoreStatus.Running || r.Status == RestoreStatus.Switched),
                cancellationToken))
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Organization '{organization.Slug}' has a switch restore that is running or not yet confirmed; confirm it first.");
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
