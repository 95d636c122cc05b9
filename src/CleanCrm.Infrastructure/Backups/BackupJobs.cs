using System.ComponentModel;
using System.Security.Cryptography;
using CleanCrm.Application.Common.Backups;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>Runs one queued backup on the maintenance queue; a failure is recorded on the backup and shown as a failed job.</summary>
public sealed class BackupJob(TenantBackupRunner runner)
{
    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Back up {0}")]
    public async Task RunAsync(Guid backupId, CancellationToken cancellationToken)
    {
        var backup = await runner.RunAsync(backupId, cancellationToken);
        if (backup.Status == BackupStatus.Failed)
        {
            throw new InvalidOperationException($"Backup {backupId} failed: {backup.Error}");
        }
    }
}

/// <summary>Runs one queued restore on the maintenance queue.</summary>
public sealed class RestoreJob(TenantRestorer restorer)
{
    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Restore {0}")]
    public async Task RunAsync(Guid restoreId, CancellationToken cancellationToken)
    {
        var restore = await restorer.RunAsync(restoreId, cancellationToken);
        if (restore.Status == RestoreStatus.Failed)
        {
            throw new InvalidOperationException($"Restore {restoreId} failed: {restore.Error}");
        }
    }
}

/// <summary>
/// Hourly: queues the daily backup of every active or suspended organization whose time of day (a stable offset derived
/// from its id, so thousands of tenants spread over 24 hours) falls in the coming hour. A backup slot (fleet-wide limit)
/// is taken only when a backup actually runs.
/// </summary>
public sealed partial class BackupScheduleJob(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    TenantBackupRunner runner,
    IBackgroundJobClient jobs,
    TimeProvider clock,
    ILogger<BackupScheduleJob> logger)
{
    public const string RecurringJobId = "backups-schedule";

    /// <summary>Minutes after midnight UTC at which the organization's daily backup runs.</summary>
    public static int DailyOffsetMinutes(Guid organizationId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(organizationId.ToByteArray(), hash);
        return (int)(BitConverter.ToUInt32(hash) % (24 * 60));
    }

    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Queue the scheduled backups of the coming hour")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await QueueHourAsync(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero), cancellationToken);
    }

    /// <summary>
    /// Queues the organizations due in the hour starting at <paramref name="hourStart"/> that have no recent scheduled backup.
    /// </summary>
    public async Task<int> QueueHourAsync(DateTimeOffset hourStart, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organizations = await db.Organizations.AsNoTracking()
            .Where(o => (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.DatabaseServerId != null)
            .Select(o => o.Id)
            .ToListAsync(cancellationToken);
        var since = now.AddHours(-20);
        var recent = (await db.Backups.AsNoTracking()
                .Where(b => b.Trigger == BackupTrigger.Scheduled && b.QueuedAt >= since && b.Status != BackupStatus.Failed)
                .Select(b => b.OrganizationId)
                .ToListAsync(cancellationToken))
            .ToHashSet();
        var queued = 0;
        foreach (var organizationId in organizations)
        {
            var due = hourStart.Date.AddMinutes(DailyOffsetMinutes(organizationId));
            var at = new DateTimeOffset(due, TimeSpan.Zero);
            if (at < hourStart || at >= hourStart.AddHours(1) || recent.Contains(organizationId))
            {
                continue;
            }

            var backupId = await runner.CreateAsync(organizationId, BackupTrigger.Scheduled, null, cancellationToken);
            var delay = at - now;
            jobs.Schedule<BackupJob>(job => job.RunAsync(backupId, CancellationToken.None), delay < TimeSpan.Zero ? TimeSpan.Zero : delay);
            queued++;
        }

        LogScheduled(logger, queued, hourStart);
        return queued;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued {Count} scheduled backups for the hour starting {HourStart:O}")]
    private static partial void LogScheduled(ILogger logger, int count, DateTimeOffset hourStart);
}

/// <summary>
/// Deletes backups older than the organization's plan retention (docs/BILLING.md: free 7 days, pro 30, enterprise 365) from the
/// store and marks them pruned. The newest succeeded backup of an organization that still exists is always kept.
/// </summary>
public sealed partial class BackupPruner(IDbContextFactory<CatalogDbContext> catalogFactory, IBackupStore store, TimeProvider clock,
    ILogger<BackupPruner> logger)
{
    public const string RecurringJobId = "backups-prune";

    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Prune backups past their plan's retention")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var candidates = await (
                from b in db.Backups
                join o in db.Organizations on b.OrganizationId equals o.Id
                join p in db.Plans on o.PlanKey equals p.Key
                where b.Status == BackupStatus.Succeeded && b.FinishedAt != null
                select new { Backup = b, o.Status, p.BackupRetentionDays })
            .ToListAsync(cancellationToken);
        var newest = candidates.Where(c => c.Status != OrganizationStatus.Deleted)
            .GroupBy(c => c.Backup.OrganizationId)
            .Select(g => g.MaxBy(c => c.Backup.FinishedAt)!.Backup.Id)
            .ToHashSet();
        var pruned = 0;
        foreach (var candidate in candidates.Where(c => c.Backup.FinishedAt!.Value.AddDays(c.BackupRetentionDays) < now
            && !newest.Contains(c.Backup.Id)))
        {
            if (candidate.Backup.Location is { } location && candidate.Backup.Store == store.Kind)
            {
                await store.DeleteAsync(location, cancellationToken);
            }

            candidate.Backup.Status = BackupStatus.Pruned;
            candidate.Backup.PrunedAt = now;
            pruned++;
        }

        await db.SaveChangesAsync(cancellationToken);
        LogPruned(logger, pruned);
        return pruned;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {Count} backups past their retention")]
    private static partial void LogPruned(ILogger logger, int count);
}

/// <summary>The use cases' view of backups, over the job queue, the runner, the restorer and the store.</summary>
public sealed class BackupOperations(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    TenantBackupRunner runner,
    TenantRestorer restorer,
    IBackupStore store,
    IBackgroundJobClient jobs) : IBackupOperations
{
    public async Task<Guid> QueueBackupAsync(Guid organizationId, BackupTrigger trigger, Guid? requestedBy,
        CancellationToken cancellationToken)
    {
        var backupId = await runner.CreateAsync(organizationId, trigger, requestedBy, cancellationToken);
        jobs.Enqueue<BackupJob>(job => job.RunAsync(backupId, CancellationToken.None));
        return backupId;
    }

    public async Task<int> QueueFleetBackupAsync(Guid? requestedBy, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organizations = await db.Organizations.AsNoTracking()
            .Where(o => (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.DatabaseServerId != null)
            .OrderBy(o => o.Slug)
            .Select(o => o.Id)
            .ToListAsync(cancellationToken);
        foreach (var organizationId in organizations)
        {
            await QueueBackupAsync(organizationId, BackupTrigger.Manual, requestedBy, cancellationToken);
        }

        return organizations.Count;
    }

    public Task QueueRestoreAsync(Guid restoreId, CancellationToken cancellationToken)
    {
        jobs.Enqueue<RestoreJob>(job => job.RunAsync(restoreId, CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task<BackupChecksum?> ComputeChecksumAsync(Backup backup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backup);
        if (backup.Location is null || await store.OpenReadAsync(backup.Location, cancellationToken) is not { } stored)
        {
            return null;
        }

        var (sha256, length) = await HashingReadStream.DigestAsync(stored.Content, cancellationToken);
        return new BackupChecksum(sha256, length);
    }

    public async Task<BackupContent?> OpenAsync(Backup backup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backup);
        return backup.Location is not null && await store.OpenReadAsync(backup.Location, cancellationToken) is { } stored
            ? new BackupContent(stored.Content, stored.Length)
            : null;
    }

    public Task DropRestoreLeftoverAsync(BackupRestore restore, CancellationToken cancellationToken) =>
        restorer.DropLeftoverAsync(restore, cancellationToken);
}

/// <summary>Registers (or removes) the recurring schedule and prune jobs per <see cref="BackupOptions.ScheduleEnabled"/>.</summary>
public static class BackupRecurringJobs
{
    public static void Register(IRecurringJobManager manager, BackupOptions options)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.ScheduleEnabled)
        {
            manager.RemoveIfExists(BackupScheduleJob.RecurringJobId);
            manager.RemoveIfExists(BackupPruner.RecurringJobId);
            return;
        }

        manager.AddOrUpdate<BackupScheduleJob>(BackupScheduleJob.RecurringJobId, job => job.RunAsync(CancellationToken.None), "0 * * * *");
        manager.AddOrUpdate<BackupPruner>(BackupPruner.RecurringJobId, job => job.RunAsync(CancellationToken.None), "17 * * * *");
    }
}
