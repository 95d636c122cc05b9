using CleanCrm.Application.Organizations;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Drops a deleting organization's database, role and secret, then marks it deleted (maintenance queue).</summary>
public sealed partial class OrganizationDeletionJob(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    TenantDatabaseProvisioner provisioner,
    TenantConnectionPool pool,
    Backups.TenantBackupRunner backups,
    IOptions<Backups.BackupOptions> backupOptions,
    TimeProvider clock,
    ILogger<OrganizationDeletionJob> logger)
{
    [AutomaticRetry(Attempts = 5)]
    [Queue(HangfireStorage.MaintenanceQueue)]
    public async Task RunAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var orgLock =
            await OrganizationLock.TryAcquireAsync(catalogOptions.Value.ConnectionString!, organizationId, cancellationToken)
                                  ?? throw new InvalidOperationException(
                                      $"Organization {organizationId} is locked by another job; the deletion is retried.");
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.Include(o => o.DatabaseServer)
            .FirstOrDefaultAsync(o => o.Id == organizationId, cancellationToken);
        if (organization is null || organization.Status != OrganizationStatus.Deleting)
        {
            // Cancelled (resumed by an admin) or already done.
            return;
        }

        // The final backup comes first; if it fails the database is kept and the job retries.
        if (organization.DatabaseServer is not null && backupOptions.Value.BeforeDelete
            && !await db.Backups.AnyAsync(b => b.OrganizationId == organizationId && b.Trigger == BackupTrigger.PreDelete
                && b.Status == BackupStatus.Succeeded && b.QueuedAt >= organization.UpdatedAt, cancellationToken))
        {
            var final = await backups.BackupNowAsync(organizationId, BackupTrigger.PreDelete, cancellationToken);
            if (final.Status != BackupStatus.Succeeded)
            {
                throw new InvalidOperationException(
                    $"The final backup of {organization.Slug} failed ({final.Error}); its database is kept and the deletion retried.");
            }
        }

        await pool.EvictAsync(organizationId);
        if (organization.DatabaseServer is { } server)
        {
            await provisioner.DropAsync(server, organizationId, cancellationToken);
        }

        organization.Status = OrganizationStatus.Deleted;
        organization.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        LogDeleted(logger, organization.Slug);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Organization {Slug} deleted: database, role and secret dropped")]
    private static partial void LogDeleted(ILogger logger, string slug);
}

public sealed class HangfireOrganizationDeletionScheduler(IBackgroundJobClient jobs,
    IOptions<ProvisioningOptions> options) : IOrganizationDeletionScheduler
{
    public Task ScheduleAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        jobs.Schedule<OrganizationDeletionJob>(job => job.RunAsync(organizationId, CancellationToken.None),
            GracePeriod);
        return Task.CompletedTask;
    }

    public TimeSpan GracePeriod => TimeSpan.FromMinutes(options.Value.DeleteGraceMinutes);
}
