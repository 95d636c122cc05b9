using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Organizations;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Commands.StartOrganizationBackup;

/// <summary>On-demand backup of one organization (<c>POST /api/v1/admin/organizations/{id}/backups</c>, docs/BACKUPS.md).</summary>
[RequiresPlatformAdmin]
public sealed record StartOrganizationBackup(Guid OrganizationId) : ICommand<Result<AdminBackupDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class StartOrganizationBackupHandler(ICatalogDbContext db, IBackupOperations backups, ICallerContext caller)
    : ICommandHandler<StartOrganizationBackup, Result<AdminBackupDto>>
{
    public async ValueTask<Result<AdminBackupDto>> Handle(StartOrganizationBackup command, CancellationToken cancellationToken)
    {
        if (await OrganizationLookup.FindUndeletedAsync(db, command.OrganizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.DatabaseServerId is null
            || organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended or OrganizationStatus.Deleting))
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"Organization '{organization.Slug}' is {BackupEnums.Name(organization.Status)} and has no database to back up now.");
        }

        var id = await backups.QueueBackupAsync(organization.Id, BackupTrigger.Manual, caller.UserId, cancellationToken);
        var backup = await db.Backups.AsNoTracking().FirstAsync(b => b.Id == id, cancellationToken);
        return AdminBackupDto.From(backup);
    }
}
