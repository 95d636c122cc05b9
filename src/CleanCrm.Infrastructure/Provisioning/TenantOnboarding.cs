using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Provisions an organization in-process through the same runner the worker uses (CLI, tests, tools).</summary>
public sealed class TenantOnboarding(IDbContextFactory<CatalogDbContext> catalogFactory, ProvisioningRunner runner, TimeProvider clock)
{
    /// <summary>Runs (or resumes) the organization's provisioning run, creating one if it has none open.</summary>
    public async Task<ProvisioningStatus> ProvisionAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.ProvisioningRuns
            .Where(r => r.OrganizationId == organizationId
                && (r.Status == ProvisioningStatus.Pending || r.Status == ProvisioningStatus.Running))
            .FirstOrDefaultAsync(cancellationToken);
        if (run is null)
        {
            run = ProvisioningRun.For(organizationId, clock.GetUtcNow());
            db.ProvisioningRuns.Add(run);
            await db.SaveChangesAsync(cancellationToken);
        }

        return await runner.RunAsync(run.Id, cancellationToken);
    }
}
