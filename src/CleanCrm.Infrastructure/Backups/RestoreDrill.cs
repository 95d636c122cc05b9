using System.Diagnostics;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>The outcome of restoring one backup in a drill.</summary>
public sealed record RestoreDrillResult(Guid BackupId, Guid OrganizationId, string Slug, DateTimeOffset? BackupFinishedAt, long? SizeBytes,
    int Tables, long Rows, bool Passed, string? Reason, double Seconds);

/// <summary>
/// Proves backups can be restored: takes a random sample of the newest succeeded backup of organizations backed up in the
/// last days, restores each into a scratch database on its organization's server, verifies checksum and every table's
/// fingerprint (the same path as an admin restore, recorded as a side-by-side restore), then drops the scratch database.
/// </summary>
public sealed class RestoreDrill(IDbContextFactory<CatalogDbContext> catalogFactory, TenantRestorer restorer, TimeProvider clock)
{
    public async Task<IReadOnlyList<RestoreDrillResult>> RunAsync(int sample, int days, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sample, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        var since = clock.GetUtcNow().AddDays(-days);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var newest = await db.Backups.AsNoTracking()
            .Where(b => b.Status == BackupStatus.Succeeded && b.FinishedAt >= since)
            .GroupBy(b => b.OrganizationId)
            .Select(g => g.OrderByDescending(b => b.FinishedAt).Select(b => b.Id).First())
            .ToListAsync(cancellationToken);
        var chosen = newest.OrderBy(_ => Random.Shared.Next()).Take(sample).ToList();
        var results = new List<RestoreDrillResult>(chosen.Count);
        foreach (var backupId in chosen)
        {
            results.Add(await DrillAsync(db, backupId, cancellationToken));
        }

        return results;
    }

    private async Task<RestoreDrillResult> DrillAsync(CatalogDbContext db, Guid backupId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var backup = await db.Backups.AsNoTracking().Include(b => b.Tables).FirstAsync(b => b.Id == backupId, cancellationToken);
        var organization = await db.Organizations.AsNoTracking().FirstAsync(o => o.Id == backup.OrganizationId, cancellationToken);
        var serverId = organization.DatabaseServerId ?? backup.DatabaseServerId;
        var restore = new BackupRestore
        {
            BackupId = backup.Id,
            OrganizationId = backup.OrganizationId,
            TargetServerId = serverId ?? Guid.Empty,
            Mode = RestoreMode.SideBySide,
            RequestedAt = clock.GetUtcNow(),
        };
        restore.DatabaseName = BackupRestore.ScratchDatabaseName(restore.Id);
        db.BackupRestores.Add(restore);
        await db.SaveChangesAsync(cancellationToken);
        var done = await restorer.RunAsync(restore.Id, cancellationToken);
        if (done.Status == RestoreStatus.Verified)
        {
            await restorer.DropLeftoverAsync(done, cancellationToken);
            await db.BackupRestores.Where(r => r.Id == restore.Id).ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, RestoreStatus.Confirmed).SetProperty(r => r.ConfirmedAt, clock.GetUtcNow()),
                cancellationToken);
        }

        return new RestoreDrillResult(
            backup.Id,
            backup.OrganizationId,
            organization.Slug,
            backup.FinishedAt,
            backup.SizeBytes,
            backup.Tables.Count,
            backup.Tables.Sum(t => t.RowCount),
            done.Status == RestoreStatus.Verified,
            done.Status == RestoreStatus.Verified ? null : done.Error
                ?? FleetMigrator.Describe(new InvalidOperationException($"restore ended {done.Status}")),
            Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}
