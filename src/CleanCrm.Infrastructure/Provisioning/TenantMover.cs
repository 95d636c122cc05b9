using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>What a completed move copied, per table (verified equal on both servers before the switch).</summary>
public sealed record TenantMoveReport(Guid OrganizationId, Guid FromServerId, Guid ToServerId, IReadOnlyDictionary<string, long> RowCounts,
    TimeSpan Duration);

/// <summary>
/// Moves a tenant database to another server: refuse requests (status <c>moving</c>, 409), drain connections, stream
/// pg_dump into pg_restore on the target, grant the tenant role, compare row counts of every table, switch the catalog
/// in one update (NOTIFY invalidates every process's cache), then drop the source. Any failure before the switch drops
/// the copy and leaves the tenant where it was, active.
/// </summary>
public sealed partial class TenantMover(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    TenantDatabaseProvisioner provisioner,
    DatabaseServerAdmin admin,
    PostgresTools tools,
    TenantConnectionPool pool,
    Backups.TenantBackupRunner backups,
    IOptions<Backups.BackupOptions> backupOptions,
    TimeProvider clock,
    ILogger<TenantMover> logger)
{
    public async Task<TenantMoveReport> MoveAsync(Guid organizationId, Guid targetServerId, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        await using var orgLock =
            await OrganizationLock.TryAcquireAsync(catalogOptions.Value.ConnectionString!, organizationId, cancellationToken)
                                  ?? throw new InvalidOperationException(
                                      "Another job is working on this organization; retry the move later.");
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.Include(o => o.DatabaseServer)
            .FirstOrDefaultAsync(o => o.Id == organizationId, cancellationToken)
                           ?? throw new InvalidOperationException($"Organization {organizationId} does not exist.");
        var target = await db.DatabaseServers.FirstOrDefaultAsync(s => s.Id == targetServerId, cancellationToken)
                     ?? throw new InvalidOperationException($"Database server {targetServerId} does not exist.");
        var source = organization.DatabaseServer ?? throw new InvalidOperationException($"{organization.Slug} has no database yet.");

        // The organization's lock is ours, so no live run is moving it. Hangfire hands a job whose worker died out again after
        // its invisibility timeout: that delivery finds what the dead run left and finishes the move exactly once.
        if (organization.Status == OrganizationStatus.Moving && source.Id != target.Id)
        {
            await AbandonDeadRunAsync(db, organization, source, target, cancellationToken);
        }
        else if (organization.Status == OrganizationStatus.Active && source.Id == target.Id)
        {
            // Switched before the worker died, so only the source's drop was left undone (the endpoint never queues a move to
            // the server an organization is on).
            await DropLeftoversAsync(db, organization, target, cancellationToken);
            var moved = await CountRowsAsync(target, organization.DatabaseName, cancellationToken);
            LogFinishedDeadRun(logger, organization.Slug, target.Name);
            return new TenantMoveReport(organizationId, target.Id, target.Id, moved, clock.GetElapsedTime(started));
        }

        if (organization.Status != OrganizationStatus.Active || source.Id == target.Id || target.Status != DatabaseServerStatus.Active)
        {
            throw new InvalidOperationException(
                $"{organization.Slug} ({organization.Status}) cannot move from {source.Name} to {target.Name} ({target.Status}).");
        }

        if (backupOptions.Value.BeforeMove)
        {
            var safety = await backups.BackupNowAsync(organizationId, BackupTrigger.PreMove, cancellationToken);
            if (safety.Status != BackupStatus.Succeeded)
            {
                throw new InvalidOperationException(
                    $"The backup before moving {organization.Slug} failed ({safety.Error}); the move was not started.");
            }
        }

        organization.Status = OrganizationStatus.Moving;
        organization.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await pool.EvictAsync(organizationId);
        var database = organization.DatabaseName;
        IReadOnlyDictionary<string, long> counts;
        try
        {
            await DrainAsync(source, organization, cancellationToken);
            await provisioner.EnsureRoleAsync(target, organizationId, cancellationToken);
            await using (var maintenance = new NpgsqlConnection(await admin.ConnectionStringAsync(target, "postgres", cancellationToken)))
            {
                await maintenance.OpenAsync(cancellationToken);
                var quoted = TenantDatabaseProvisioner.Quote(database);
                await TenantDatabaseProvisioner.ExecuteAsync(maintenance, $"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)",
                    cancellationToken);
                await TenantDatabaseProvisioner.ExecuteAsync(maintenance, $"CREATE DATABASE {quoted}", cancellationToken);
                await TenantDatabaseProvisioner.ExecuteAsync(maintenance, $"REVOKE ALL ON DATABASE {quoted} FROM PUBLIC",
                    cancellationToken);
            }

            await tools.DumpIntoAsync(await ToolConnectionAsync(source, database, cancellationToken),
                await ToolConnectionAsync(target, database, cancellationToken), cancellationToken);
            await provisioner.GrantAsync(target, organizationId, cancellationToken);
            counts = await CountRowsAsync(source, database, cancellationToken);
            var copied = await CountRowsAsync(target, database, cancellationToken);
            var mismatch = counts.Where(c => !copied.TryGetValue(c.Key, out var n) || n != c.Value).Select(c => c.Key).ToList();
            if (mismatch.Count > 0 || copied.Count != counts.Count)
            {
                throw new InvalidOperationException($"Row counts differ after the copy in: {string.Join(", ", mismatch)}.");
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogMoveFailed(logger, exception, organization.Slug, target.Name);
            await AbandonCopyAsync(target, database, organization.DatabaseRole);
            organization.Status = OrganizationStatus.Active;
            organization.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
            throw;
        }

        // The switch: one row, one transaction; every process drops its cached location on the NOTIFY.
        organization.DatabaseServerId = target.Id;
        organization.DatabaseServer = target;
        organization.Status = OrganizationStatus.Active;
        organization.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(CancellationToken.None);
        await pool.EvictAsync(organizationId);

        await using (var maintenance = new NpgsqlConnection(await admin.ConnectionStringAsync(source, "postgres", CancellationToken.None)))
        {
            await maintenance.OpenAsync(CancellationToken.None);
            await TenantDatabaseProvisioner.ExecuteAsync(
                maintenance, $"DROP DATABASE IF EXISTS {TenantDatabaseProvisioner.Quote(database)} WITH (FORCE)", CancellationToken.None);
            await TenantDatabaseProvisioner.ExecuteAsync(
                maintenance, $"DROP ROLE IF EXISTS {TenantDatabaseProvisioner.Quote(organization.DatabaseRole)}", CancellationToken.None);
        }

        var report = new TenantMoveReport(organizationId, source.Id, target.Id, counts, clock.GetElapsedTime(started));
        LogMoved(logger, organization.Slug, source.Name, target.Name, counts.Values.Sum(), report.Duration.TotalMilliseconds);
        return report;
    }

    /// <summary>
    /// A move whose worker died before the switch: the catalog still points at the source, which is whole (nothing writes to a
    /// <c>moving</c> organization), so the target's copy and role are dropped and the organization is active again where it
    /// was; the move then starts over. An in-place restore switching the organization (it also sets <c>moving</c>) is left to
    /// its own recovery (docs/BACKUPS.md).
    /// </summary>
    private async Task AbandonDeadRunAsync(CatalogDbContext db, Organization organization, DatabaseServer source, DatabaseServer target,
        CancellationToken cancellationToken)
    {
        if (await db.BackupRestores.AnyAsync(r => r.OrganizationId == organization.Id && r.Mode == RestoreMode.Switch
                && (r.Status == RestoreStatus.Queued || r.Status == RestoreStatus.Running), cancellationToken))
        {
            throw new InvalidOperationException(
                $"{organization.Slug} is being switched to a restored database; retry the move once the restore has ended.");
        }

        LogRestartingDeadRun(logger, organization.Slug, source.Name, target.Name);
        await AbandonCopyAsync(target, organization.DatabaseName, organization.DatabaseRole);
        organization.Status = OrganizationStatus.Active;
        organization.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// After a switch whose worker died before the source was dropped: the organization's database name is its own
    /// (<c>cleancrm_t_&lt;id&gt;</c>), so a database of that name on another server is the move's leftover, dropped with the
    /// role there. One an in-place restore keeps until an admin confirms it (<c>switched</c>, not yet confirmed) is left alone.
    /// </summary>
    private async Task DropLeftoversAsync(CatalogDbContext db, Organization organization, DatabaseServer current,
        CancellationToken cancellationToken)
    {
        var kept = await db.BackupRestores.AsNoTracking()
            .Where(r => r.OrganizationId == organization.Id && r.Status == RestoreStatus.Switched && r.PreviousServerId != null)
            .Select(r => r.PreviousServerId!.Value).ToListAsync(cancellationToken);
        var others = await db.DatabaseServers.AsNoTracking()
            .Where(s => s.Id != current.Id && s.Status != DatabaseServerStatus.Offline && !kept.Contains(s.Id))
            .ToListAsync(cancellationToken);

        // A server registered twice (another name for the current one) must not lose the live database: an advisory lock
        // held on the current server's maintenance database cannot be taken again through another registration of it.
        var identity = $"cleancrm:move-leftovers:{organization.Id:N}";
        await using var here = new NpgsqlConnection(await admin.ConnectionStringAsync(current, "postgres", cancellationToken));
        await here.OpenAsync(cancellationToken);
        await using var held = await here.BeginTransactionAsync(cancellationToken); // ends (rolled back) with the method
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", here, held))
        {
            hold.Parameters.AddWithValue(identity);
            await hold.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var server in others)
        {
            try
            {
                await DropLeftoverAsync(server, organization, identity, cancellationToken);
            }
            catch (Exception exception) when (exception is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException
                                                  or InvalidOperationException)
            {
                // A server that cannot be reached cannot hold a copy anyone uses; what is left there is for an operator.
                LogLeftoverCheckFailed(logger, exception, organization.DatabaseName, server.Name);
            }
        }
    }

    private async Task DropLeftoverAsync(DatabaseServer server, Organization organization, string identity,
        CancellationToken cancellationToken)
    {
        await using var maintenance = new NpgsqlConnection(await admin.ConnectionStringAsync(server, "postgres", cancellationToken));
        await maintenance.OpenAsync(cancellationToken);
        await using (var probe = new NpgsqlCommand(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AND pg_advisory_unlock(hashtextextended($1, 0))", maintenance))
        {
            probe.Parameters.AddWithValue(identity);
            if (await probe.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return; // the current server under another registration
            }
        }

        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", maintenance);
        exists.Parameters.AddWithValue(organization.DatabaseName);
        if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
        {
            return;
        }

        LogDroppingLeftover(logger, organization.DatabaseName, server.Name);
        await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
            $"DROP DATABASE IF EXISTS {TenantDatabaseProvisioner.Quote(organization.DatabaseName)} WITH (FORCE)", cancellationToken);
        await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
            $"DROP ROLE IF EXISTS {TenantDatabaseProvisioner.Quote(organization.DatabaseRole)}", cancellationToken);
    }

    // Gives in-flight requests a moment to finish, then disconnects the tenant role so no write lands after the copy.
    private async Task DrainAsync(DatabaseServer source, Organization organization, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(source, "postgres", cancellationToken));
        await connection.OpenAsync(cancellationToken);
        for (var i = 0; i < 20; i++)
        {
            await using var count =
                new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND state <> 'idle'", connection);
            count.Parameters.AddWithValue(organization.DatabaseRole);
            if ((long)(await count.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                break;
            }

            await Task.Delay(100, cancellationToken);
        }

        await using var terminate =
            new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1", connection);
        terminate.Parameters.AddWithValue(organization.DatabaseRole);
        await terminate.ExecuteScalarAsync(cancellationToken);
    }

    private async Task<IReadOnlyDictionary<string, long>> CountRowsAsync(DatabaseServer server, string database,
        CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(server, database, cancellationToken));
        await connection.OpenAsync(cancellationToken);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            connection))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            await using var count = new NpgsqlCommand($"SELECT count(*) FROM public.{TenantDatabaseProvisioner.Quote(table)}", connection);
            counts[table] = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }

        return counts;
    }

    // The copy and the role created for it on the target (the organization stays on its source, so neither is used there).
    private async Task AbandonCopyAsync(DatabaseServer target, string database, string role)
    {
        try
        {
            await using var maintenance =
                new NpgsqlConnection(await admin.ConnectionStringAsync(target, "postgres", CancellationToken.None));
            await maintenance.OpenAsync();
            await TenantDatabaseProvisioner.ExecuteAsync(
                maintenance, $"DROP DATABASE IF EXISTS {TenantDatabaseProvisioner.Quote(database)} WITH (FORCE)", CancellationToken.None);
            await TenantDatabaseProvisioner.ExecuteAsync(
                maintenance, $"DROP ROLE IF EXISTS {TenantDatabaseProvisioner.Quote(role)}", CancellationToken.None);
        }
        catch (NpgsqlException exception)
        {
            LogCleanupFailed(logger, exception, database, target.Name);
        }
    }

    private async Task<ToolConnection> ToolConnectionAsync(DatabaseServer server, string database, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(await admin.ConnectionStringAsync(server, database, cancellationToken));
        return new ToolConnection(builder.Host!, builder.Port, builder.Username!, builder.Password!, database);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved {Slug} from {From} to {To}: {Rows} rows verified in {ElapsedMs:0} ms")]
    private static partial void LogMoved(ILogger logger, string slug, string from, string to, long rows, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Moving {Slug} to {Target} failed; it stays on its current server")]
    private static partial void LogMoveFailed(ILogger logger, Exception exception, string slug, string target);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Moving {Slug} from {From} to {To} was abandoned by a worker that died; its copy is dropped and the move starts over")]
    private static partial void LogRestartingDeadRun(ILogger logger, string slug, string from, string to);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Slug} was switched to {Server} by a worker that died before dropping the source; dropping what is left")]
    private static partial void LogFinishedDeadRun(ILogger logger, string slug, string server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check {Server} for a leftover {Database} of an interrupted move")]
    private static partial void LogLeftoverCheckFailed(ILogger logger, Exception exception, string database, string server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropping {Database} and its role left on {Server} by an interrupted move")]
    private static partial void LogDroppingLeftover(ILogger logger, string database, string server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drop the abandoned copy {Database} on {Server}")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string database, string server);
}

/// <summary>Runs a move on the maintenance queue (admin endpoint).</summary>
public sealed class TenantMoveJob(TenantMover mover)
{
    [AutomaticRetry(Attempts = 0)]
    [Queue(HangfireStorage.MaintenanceQueue)]
    public async Task RunAsync(Guid organizationId, Guid targetServerId, CancellationToken cancellationToken) =>
        await mover.MoveAsync(organizationId, targetServerId, cancellationToken);
}

public sealed class HangfireTenantMoveScheduler(IBackgroundJobClient jobs) : Application.Organizations.ITenantMoveScheduler
{
    public Task ScheduleAsync(Guid organizationId, Guid targetServerId, CancellationToken cancellationToken)
    {
        jobs.Enqueue<TenantMoveJob>(job => job.RunAsync(organizationId, targetServerId, CancellationToken.None));
        return Task.CompletedTask;
    }
}
