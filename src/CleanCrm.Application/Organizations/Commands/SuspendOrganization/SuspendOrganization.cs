using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.Organizations.Commands.SuspendOrganization;

/// <summary>Stops all access to an active organization until it is resumed (docs/OPERATIONS.md).</summary>
[RequiresPlatformAdmin]
public sealed record SuspendOrganization(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>;

public sealed class SuspendOrganizationHandler(ICatalogDbContext db, TimeProvider clock)
    : ICommandHandler<SuspendOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(SuspendOrganization command, CancellationToken cancellationToken) =>
        await OrganizationSuspension.MoveAsync(
            db,
            command.OrganizationId,
            from: OrganizationStatus.Active,
            to: OrganizationStatus.Suspended,
            "suspended",
            organization => organization.Suspend(clock.GetUtcNow()),
            cancellationToken);
}
