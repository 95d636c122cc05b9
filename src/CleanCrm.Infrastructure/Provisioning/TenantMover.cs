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
            await AbandonCopyAsync(target, database);
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

    private async Task AbandonCopyAsync(DatabaseServer target, string database)
    {
        try
        {
            await using var maintenance =
                new NpgsqlConnection(await admin.ConnectionStringAsync(target, "postgres", CancellationToken.None));
            await maintenance.OpenAsync();
            await TenantDatabaseProvisioner.ExecuteAsync(
                maintenance, $"DROP DATABASE IF EXISTS {TenantDatabaseProvisioner.Quote(database)} WITH (FORCE)", CancellationToken.None);
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
