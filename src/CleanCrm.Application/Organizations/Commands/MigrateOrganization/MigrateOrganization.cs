using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Fleet;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Commands.MigrateOrganization;

/// <summary>
/// Queues a job that brings one organization's database to the head schema, the way a fleet migration does it for each
/// tenant (<c>POST /api/v1/admin/organizations/{id}/migrate</c>, docs/OPERATIONS.md). Only active and suspended
/// organizations that are behind can be migrated.
/// </summary>
[RequiresPlatformAdmin]
public sealed record MigrateOrganization(Guid OrganizationId) : ICommand<Result<FleetMigrationStatusDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class MigrateOrganizationHandler(ICatalogDbContext db, IFleetMigrations migrations)
    : ICommandHandler<MigrateOrganization, Result<FleetMigrationStatusDto>>
{
    public async ValueTask<Result<FleetMigrationStatusDto>> Handle(MigrateOrganization command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.AsNoTracking()
            .FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended))
        {
            return OrganizationErrors.CannotBe(organization, "migrated (only active and suspended organizations are)");
        }

        if (organization.SchemaVersion == migrations.SchemaHead)
        {
            return Error.Conflict(
                ErrorCodes.Conflict, $"Organization '{organization.Slug}' is already at the head schema '{migrations.SchemaHead}'.");
        }

        var jobId = await migrations.StartOrganizationAsync(organization.Id, null, cancellationToken);
        return await migrations.GetAsync(jobId, cancellationToken)
            ?? new FleetMigrationStatusDto(jobId, "enqueued", null, null) { OrganizationId = organization.Id };
    }
}
