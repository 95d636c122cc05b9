using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Commands.RetryProvisioning;

/// <summary>Starts a new provisioning run for a failed organization; its finished steps are not redone.</summary>
[RequiresPlatformAdmin]
public sealed record RetryProvisioning(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class RetryProvisioningHandler(ICatalogDbContext db, IProvisioningQueue queue, TimeProvider clock)
    : ICommandHandler<RetryProvisioning, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(RetryProvisioning command, CancellationToken cancellationToken)
    {
        if (await OrganizationLookup.FindAsync(db, command.OrganizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status != OrganizationStatus.Failed)
        {
            return OrganizationErrors.CannotBe(organization, "retried (only failed organizations are)");
        }

        var now = clock.GetUtcNow();
        var run = await db.ProvisioningRuns.Include(r => r.Steps)
            .Where(r => r.OrganizationId == organization.Id)
            .OrderByDescending(r => r.CreatedAt)
            .FirstAsync(cancellationToken);
        run.Status = ProvisioningStatus.Pending;
        run.Error = null;
        run.FinishedAt = null;
        foreach (var step in run.Steps.Where(s => s.Status == ProvisioningStatus.Failed))
        {
            step.Status = ProvisioningStatus.Pending;
            step.Attempt = 0;
        }

        organization.Status = OrganizationStatus.Pending;
        organization.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        await queue.EnqueueAsync(run.Id, cancellationToken);
        return AdminOrganizationDto.From(organization);
    }
}
