using System.ComponentModel;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>
/// Measures tenant database sizes into the catalog (<c>organizations.database_size_bytes</c>), so the admin list can show
/// and sort by size without touching thousands of databases: one <c>pg_database_size</c> query per server for the whole
/// fleet, or one for a single organization right after it is provisioned. Size columns do not notify the caches (the
/// organizations trigger ignores them).
/// </summary>
public sealed partial class DatabaseSizes(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    DatabaseServerAdmin admin,
    TimeProvider clock,
    ILogger<DatabaseSizes> logger)
{
    /// <summary>Every server that is not offline, once; returns how many organizations got a size (a failing server is logged).</summary>
    public async Task<int> RefreshAllAsync(CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var servers = await db.DatabaseServers.AsNoTracking()
            .Where(s => s.Status != DatabaseServerStatus.Offline)
            .ToListAsync(cancellationToken);
        var updated = 0;
        foreach (var server in servers)
        {
            try
            {
                var sizes = await MeasureAsync(server, null, cancellationToken);
                updated += await StoreAsync(db, server.Id, sizes, cancellationToken);
            }
            catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                LogServerFailed(logger, server.Name, FleetMigrator.Describe(exception));
            }
        }

        return updated;
    }

    /// <summary>One organization's database (after provisioning); false when it has none yet or the server cannot be read.</summary>
    public async Task<bool> RefreshAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer)
            .FirstOrDefaultAsync(o => o.Id == organizationId, cancellationToken);
        if (organization?.DatabaseServer is not { } server || string.IsNullOrEmpty(organization.DatabaseName))
        {
            return false;
        }

        try
        {
            var sizes = await MeasureAsync(server, organization.DatabaseName, cancellationToken);
            return await StoreAsync(db, server.Id, sizes, cancellationToken) > 0;
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            LogServerFailed(logger, server.Name, FleetMigrator.Describe(exception));
            return false;
        }
    }

    private async Task<Dictionary<string, long>> MeasureAsync(DatabaseServer server, string? only, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(server, "postgres", cancellationToken));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname LIKE 'cleancrm\\_t\\_%' AND datallowconn"
            + (only is null ? string.Empty : " AND datname = $1"),
            connection);
        if (only is not null)
        {
            command.Parameters.AddWithValue(only);
        }

        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // A database dropped while the catalog scan runs (a deletion, a finished move) has no size: skip it.
            if (!await reader.IsDBNullAsync(1, cancellationToken))
            {
                sizes[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        return sizes;
    }

    private async Task<int> StoreAsync(
        CatalogDbContext db, Guid serverId, Dictionary<string, long> sizes, CancellationToken cancellationToken)
    {
        if (sizes.Count == 0)
        {
            return 0;
        }

        // One statement for the whole server; only organizations that live there take a size (names are per server).
        return await db.Database.ExecuteSqlRawAsync(
            """
            UPDATE organizations AS o SET database_size_bytes = v.size, database_size_measured_at = {2}
            FROM unnest({0}::text[], {1}::bigint[]) AS v(name, size)
            WHERE o.database_name = v.name AND o.database_server_id = {3}
            """,
            [sizes.Keys.ToArray(), sizes.Values.ToArray(), clock.GetUtcNow(), serverId],
            cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Measuring database sizes on server {Server} failed: {Reason}")]
    private static partial void LogServerFailed(ILogger logger, string server, string reason);
}

/// <summary>Hourly on the maintenance queue: refreshes every tenant database's size (<see cref="DatabaseSizes"/>).</summary>
public sealed class DatabaseSizeJob(DatabaseSizes sizes)
{
    public const string RecurringJobId = "database-sizes";

    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Measure tenant database sizes")]
    public Task<int> RunAsync(CancellationToken cancellationToken) => sizes.RefreshAllAsync(cancellationToken);

    /// <summary>Registers the recurring job (hourly, at minute 41: away from the backup jobs at 0 and 17).</summary>
    public static void Register(IRecurringJobManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        manager.AddOrUpdate<DatabaseSizeJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), "41 * * * *");
    }
}
