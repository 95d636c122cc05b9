using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.Organizations.Commands.ResumeOrganization;

/// <summary>Gives a suspended organization its access back.</summary>
[RequiresPlatformAdmin]
public sealed record ResumeOrganization(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>;

public sealed class ResumeOrganizationHandler(ICatalogDbContext db, TimeProvider clock)
    : ICommandHandler<ResumeOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(ResumeOrganization command, CancellationToken cancellationToken) =>
        await OrganizationSuspension.MoveAsync(
            db,
            command.OrganizationId,
            from: OrganizationStatus.Suspended,
            to: OrganizationStatus.Active,
            "resumed",
            organization => organization.Resume(clock.GetUtcNow()),
            cancellationToken);
}
