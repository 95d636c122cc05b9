using System.ComponentModel.DataAnnotations;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Warm pool settings (section <c>CleanCrm:Provisioning:WarmPool</c>).</summary>
public sealed class WarmPoolOptions
{
    public const string SectionName = "CleanCrm:Provisioning:WarmPool";

    /// <summary>Ready databases kept on each active server; 0 disables the pool (every signup clones the template).</summary>
    [Range(0, 100)]
    public int Size { get; set; } = 5;

    /// <summary>How often the worker tops the pools up without a claim asking it to.</summary>
    [Range(1, 86_400)]
    public int RefillIntervalSeconds { get; set; } = 60;
}

/// <summary>One server's pool as an operator sees it.</summary>
public sealed record WarmPoolServerState(string Server, DatabaseServerStatus Status, int Target, int Ready, int Behind, int Creating,
    int Claimed);

/// <summary>What one refill did.</summary>
public sealed record WarmPoolRefillResult(bool Ran, int Created, int Migrated, int Discarded, IReadOnlyList<string> Errors);

/// <summary>Sees each stage of a claim. Production has none; tests use one to stop a claim half-way (a crash).</summary>
public interface IWarmPoolClaimObserver
{
    ValueTask AfterStageAsync(Guid organizationId, string stage, CancellationToken cancellationToken);
}

/// <summary>Wakes the refiller after a claim, so the pool is topped up before the next signup rather than at the next tick.</summary>
public sealed class WarmPoolRefillSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Request()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // A refill is already requested.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}

/// <summary>
/// Pre-created, migrated, empty tenant databases per server (docs/adr/0015-warm-pool-of-tenant-databases.md). A signup
/// claims one with a single catalog statement (<c>FOR UPDATE SKIP LOCKED</c>), then renames its role and database to the
/// organization's names and moves the role's secret; every stage checks what exists first, so a claim that stopped
/// anywhere is finished by running it again. Refills run under one catalog advisory lock at a time.
/// </summary>
public sealed partial class WarmPool(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    TenantDatabaseProvisioner provisioner,
    DatabaseServerAdmin admin,
    ISecretStore secrets,
    IOptions<WarmPoolOptions> options,
    WarmPoolRefillSignal signal,
    ProvisioningMetrics metrics,
    IEnumerable<IWarmPoolClaimObserver> observers,
    TimeProvider clock,
    ILogger<WarmPool> logger)
{
    public static class Stages
    {
        public const string Claimed = "claimed";
        public const string SecretCopied = "secret_copied";
        public const string RoleRenamed = "role_renamed";
        public const string DatabaseRenamed = "database_renamed";
    }

    private const string MaintenanceDatabase = "postgres";
    private const string RefillLockKey = "cleancrm:warm-pool-refill";
    private readonly IWarmPoolClaimObserver[] _observers = [.. observers];

    /// <summary>
    /// Gives the organization a pool database on <paramref name="server"/>, or finishes the claim an earlier attempt started.
    /// False when the pool has nothing current to give (or is disabled), or when an earlier attempt already went the clone
    /// way; the caller then creates the role and database as without a pool.
    /// </summary>
    public async Task<bool> TryClaimAsync(DatabaseServer server, Guid organizationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        await using var catalog = new NpgsqlConnection(catalogOptions.Value.ConnectionString);
        await catalog.OpenAsync(cancellationToken);
        var entryId = await ScalarAsync<Guid?>(catalog, "SELECT id FROM warm_pool_databases WHERE organization_id = $1", cancellationToken,
            organizationId);
        await using var maintenance =
            new NpgsqlConnection(await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken));
        await maintenance.OpenAsync(cancellationToken);
        if (entryId is null)
        {
            // An earlier attempt that went the clone way is finished that way: never two databases or roles for one org.
            if (options.Value.Size == 0
                || await TenantDatabaseProvisioner.RoleExistsAsync(maintenance, Organization.DatabaseRoleFor(organizationId),
                    cancellationToken)
                || await TenantDatabaseProvisioner.DatabaseExistsAsync(maintenance, Organization.DatabaseNameFor(organizationId),
                    cancellationToken))
            {
                return false;
            }

            entryId = await ScalarAsync<Guid?>(
                catalog,
                """
                UPDATE warm_pool_databases SET status = 'claimed', organization_id = $1, claimed_at = $4
                WHERE id = (SELECT id FROM warm_pool_databases
                            WHERE database_server_id = $2 AND status = 'ready' AND schema_version = $3
                            ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id
                """,
                cancellationToken,
                organizationId, server.Id, TenantMigrations.LatestVersion, clock.GetUtcNow());
            if (entryId is null)
            {
                LogPoolEmpty(logger, server.Name);
                return false;
            }

            signal.Request();
            await ObserveAsync(organizationId, Stages.Claimed, cancellationToken);
        }

        await CompleteClaimAsync(catalog, maintenance, entryId.Value, organizationId, cancellationToken);
        return true;
    }

    private async Task CompleteClaimAsync(NpgsqlConnection catalog, NpgsqlConnection maintenance, Guid entryId, Guid organizationId,
        CancellationToken cancellationToken)
    {
        var poolName = WarmPoolDatabase.NameFor(entryId);
        var poolSecret = SecretName.ForWarmPoolDatabase(entryId);
        var role = Organization.DatabaseRoleFor(organizationId);
        var database = Organization.DatabaseNameFor(organizationId);

        // While the pool's role exists its password is the pool secret: the org's secret becomes that password before
        // the role carries the org's name, so the secret store always holds the password the server accepts. (SCRAM
        // verifiers survive a rename; only MD5 ones are salted with the role name.)
        if (await TenantDatabaseProvisioner.RoleExistsAsync(maintenance, poolName, cancellationToken))
        {
            var password = await secrets.GetAsync(poolSecret, cancellationToken);
            if (password is null)
            {
                // The pool secret is gone (deleted by hand): a new password, set on the role before anyone needs it.
                password = ScramVerifier.NewPassword();
                await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
                    $"ALTER ROLE {TenantDatabaseProvisioner.Quote(poolName)} PASSWORD '{ScramVerifier.Create(password)}'",
                    cancellationToken);
            }

            await secrets.SetAsync(SecretName.ForTenantDatabase(organizationId), password, cancellationToken);
            await ObserveAsync(organizationId, Stages.SecretCopied, cancellationToken);
            if (await TenantDatabaseProvisioner.RoleExistsAsync(maintenance, role, cancellationToken))
            {
                throw new InvalidOperationException($"Both the pool role {poolName} and the organization's role {role} exist.");
            }

            await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
                $"ALTER ROLE {TenantDatabaseProvisioner.Quote(poolName)} RENAME TO {TenantDatabaseProvisioner.Quote(role)}",
                cancellationToken);
        }

        await ObserveAsync(organizationId, Stages.RoleRenamed, cancellationToken);
        if (await TenantDatabaseProvisioner.DatabaseExistsAsync(maintenance, poolName, cancellationToken))
        {
            if (await TenantDatabaseProvisioner.DatabaseExistsAsync(maintenance, database, cancellationToken))
            {
                throw new InvalidOperationException($"Both the pool database {poolName} and the organization's database {database} exist.");
            }

            await RenameDatabaseAsync(maintenance, poolName, database, cancellationToken);
        }

        await ObserveAsync(organizationId, Stages.DatabaseRenamed, cancellationToken);
        await secrets.DeleteAsync(poolSecret, cancellationToken);
        await ExecuteAsync(catalog, "DELETE FROM warm_pool_databases WHERE id = $1", cancellationToken, entryId);
        LogClaimed(logger, organizationId, entryId);
    }

    private async Task RenameDatabaseAsync(NpgsqlConnection maintenance, string from, string to, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
                    $"ALTER DATABASE {TenantDatabaseProvisioner.Quote(from)} RENAME TO {TenantDatabaseProvisioner.Quote(to)}",
                    cancellationToken);
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 10)
            {
                // A rename needs the database to itself; someone (a size probe, an operator's psql) is connected for a moment.
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), clock, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Brings every active server's pool to <see cref="WarmPoolOptions.Size"/>: first discards what a crash left behind
    /// (entries still "creating", entries claimed by organizations since deleted) and a draining server's pool, then
    /// migrates ready entries behind this build, then discards entries beyond the size or creates the missing ones.
    /// Draining and offline servers are not refilled. Returns without doing anything when another process is refilling.
    /// </summary>
    public async Task<WarmPoolRefillResult> RefillAsync(string? serverName, CancellationToken cancellationToken)
    {
        await using var lockConnection = new NpgsqlConnection(catalogOptions.Value.ConnectionString);
        await lockConnection.OpenAsync(cancellationToken);
        if (await ScalarAsync<bool>(lockConnection, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", cancellationToken,
                RefillLockKey) is false)
        {
            return new WarmPoolRefillResult(false, 0, 0, 0, []);
        }

        var errors = new List<string>();
        var discarded = 0;
        var created = 0;
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var servers = await db.DatabaseServers.AsNoTracking()
            .Where(s => serverName == null || s.Name == serverName)
            .ToDictionaryAsync(s => s.Id, cancellationToken);

        // We hold the only refill lock: an entry still "creating" was left by a refill that died. A draining server's
        // ready entries go too: nothing is placed there any more, and they hold disk the move off it needs.
        var serverIds = servers.Keys.ToList();
        var draining = servers.Values.Where(s => s.Status == DatabaseServerStatus.Draining).Select(s => s.Id).ToList();
        var leftovers = await db.WarmPoolDatabases.AsNoTracking()
            .Where(w => serverIds.Contains(w.DatabaseServerId))
            .Where(w => w.Status == WarmPoolDatabaseStatus.Creating
                        || (w.Status == WarmPoolDatabaseStatus.Ready && draining.Contains(w.DatabaseServerId))
                        || (w.Status == WarmPoolDatabaseStatus.Claimed
                            && !db.Organizations.Any(o => o.Id == w.OrganizationId && o.Status != OrganizationStatus.Deleted)))
            .ToListAsync(cancellationToken);
        foreach (var entry in leftovers)
        {
            // A ready entry is row-locked by a claim or a fleet migration for a moment; discarding it then would race them.
            if (entry.Status == WarmPoolDatabaseStatus.Ready && !await TryMarkCreatingAsync(entry.Id, cancellationToken))
            {
                continue;
            }

            try
            {
                await DiscardAsync(servers[entry.DatabaseServerId], entry.Id, cancellationToken);
                discarded++;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                errors.Add($"discard {entry.DatabaseName}: {exception.Message}");
            }
        }

        var migrated = await MigrateBehindAsync(servers.Values, errors, cancellationToken);
        foreach (var server in servers.Values.Where(s => s.Status == DatabaseServerStatus.Active)
            .OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var ready = await db.WarmPoolDatabases.AsNoTracking()
                .Where(w => w.DatabaseServerId == server.Id && w.Status == WarmPoolDatabaseStatus.Ready)
                .OrderByDescending(w => w.CreatedAt).Select(w => w.Id).ToListAsync(cancellationToken);

            // A smaller size (0 included) shrinks the pool: the newest entries beyond it go.
            foreach (var excess in ready.Skip(options.Value.Size))
            {
                if (await TryMarkCreatingAsync(excess, cancellationToken))
                {
                    await DiscardAsync(server, excess, cancellationToken);
                    discarded++;
                }
            }

            for (var i = ready.Count; i < options.Value.Size; i++)
            {
                try
                {
                    await CreateAsync(server, cancellationToken);
                    created++;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The row stays "creating" and is discarded by the next refill.
                    errors.Add($"create on {server.Name}: {exception.Message}");
                    LogCreateFailed(logger, exception, server.Name);
                    break;
                }
            }
        }

        await ExecuteAsync(lockConnection, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", CancellationToken.None, RefillLockKey);
        await PublishAvailableAsync(cancellationToken);
        if (created + migrated + discarded > 0)
        {
            LogRefilled(logger, created, migrated, discarded);
        }

        return new WarmPoolRefillResult(true, created, migrated, discarded, errors);
    }

    private async Task CreateAsync(DatabaseServer server, CancellationToken cancellationToken)
    {
        var entry = new WarmPoolDatabase { DatabaseServerId = server.Id, CreatedAt = clock.GetUtcNow() };
        await using (var db = await catalogFactory.CreateDbContextAsync(cancellationToken))
        {
            db.WarmPoolDatabases.Add(entry);
            await db.SaveChangesAsync(cancellationToken);
        }

        var name = entry.DatabaseName;
        await provisioner.EnsureRoleAsync(server, name, SecretName.ForWarmPoolDatabase(entry.Id), cancellationToken);
        await provisioner.EnsureDatabaseAsync(server, name, cancellationToken);
        TenantDatabaseProvisioner.EnsureModelIsMigratable();
        var version = await TenantDatabaseProvisioner.MigrateAndGrantAsync(
            await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken), name, name, cancellationToken);
        await using (var db = await catalogFactory.CreateDbContextAsync(cancellationToken))
        {
            await db.WarmPoolDatabases.Where(w => w.Id == entry.Id).ExecuteUpdateAsync(s => s
                .SetProperty(w => w.Status, WarmPoolDatabaseStatus.Ready)
                .SetProperty(w => w.SchemaVersion, version), cancellationToken);
        }
    }

    // Takes a ready entry out of reach of claims (they only take ready rows) unless one holds it right now.
    private async Task<bool> TryMarkCreatingAsync(Guid entryId, CancellationToken cancellationToken)
    {
        await using var catalog = new NpgsqlConnection(catalogOptions.Value.ConnectionString);
        await catalog.OpenAsync(cancellationToken);
        return await ScalarAsync<Guid?>(catalog,
            """
            UPDATE warm_pool_databases SET status = 'creating'
            WHERE id = (SELECT id FROM warm_pool_databases WHERE id = $1 AND status = 'ready' FOR UPDATE SKIP LOCKED)
            RETURNING id
            """, cancellationToken, entryId) is not null;
    }

    private async Task DiscardAsync(DatabaseServer server, Guid entryId, CancellationToken cancellationToken)
    {
        var name = WarmPoolDatabase.NameFor(entryId);
        await provisioner.DropAsync(server, name, name, SecretName.ForWarmPoolDatabase(entryId), cancellationToken);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        await db.WarmPoolDatabases.Where(w => w.Id == entryId).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// Migrates ready entries whose schema is behind this build (the fleet migration calls this too). Each entry is row-locked
    /// while it is migrated, so a claim skips it; a claim also never takes an entry that is not at this build's version.
    /// </summary>
    public async Task<int> MigrateBehindAsync(IEnumerable<DatabaseServer> servers, ICollection<string> errors,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(servers);
        ArgumentNullException.ThrowIfNull(errors);
        var migrated = 0;
        foreach (var server in servers)
        {
            await using var catalog = new NpgsqlConnection(catalogOptions.Value.ConnectionString);
            await catalog.OpenAsync(cancellationToken);
            await using var transaction = await catalog.BeginTransactionAsync(cancellationToken);
            var behind = new List<Guid>();
            await using (var command = new NpgsqlCommand(
                """
                SELECT id FROM warm_pool_databases
                WHERE database_server_id = $1 AND status = 'ready'
                  AND (schema_version IS NULL OR schema_version COLLATE "C" < $2 COLLATE "C")
                FOR UPDATE SKIP LOCKED
                """, catalog, transaction))
            {
                command.Parameters.AddWithValue(server.Id);
                command.Parameters.AddWithValue(TenantMigrations.LatestVersion);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    behind.Add(reader.GetGuid(0));
                }
            }

            if (behind.Count == 0)
            {
                continue;
            }

            TenantDatabaseProvisioner.EnsureModelIsMigratable();
            var adminConnection = await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken);
            foreach (var id in behind)
            {
                try
                {
                    var name = WarmPoolDatabase.NameFor(id);
                    var version = await TenantDatabaseProvisioner.MigrateAndGrantAsync(adminConnection, name, name, cancellationToken);
                    await using var update = new NpgsqlCommand("UPDATE warm_pool_databases SET schema_version = $2 WHERE id = $1", catalog,
                        transaction);
                    update.Parameters.AddWithValue(id);
                    update.Parameters.AddWithValue(version);
                    await update.ExecuteNonQueryAsync(cancellationToken);
                    migrated++;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Left behind, so never claimed; the next refill or fleet run tries again.
                    errors.Add($"migrate {WarmPoolDatabase.NameFor(id)} on {server.Name}: {exception.Message}");
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return migrated;
    }

    /// <summary>Every server's pool (or one server's), with what is ready, behind, being created and mid-claim.</summary>
    public async Task<IReadOnlyList<WarmPoolServerState>> StatusAsync(string? serverName, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var latest = TenantMigrations.LatestVersion;
        var rows = await db.DatabaseServers.AsNoTracking()
            .Where(s => serverName == null || s.Name == serverName)
            .OrderBy(s => s.Name)
            .Select(s => new
            {
                s.Name,
                s.Status,
                Ready = db.WarmPoolDatabases.Count(w => w.DatabaseServerId == s.Id && w.Status == WarmPoolDatabaseStatus.Ready
                                                        && w.SchemaVersion == latest),
                ReadyAll = db.WarmPoolDatabases.Count(w => w.DatabaseServerId == s.Id && w.Status == WarmPoolDatabaseStatus.Ready),
                Creating = db.WarmPoolDatabases.Count(w => w.DatabaseServerId == s.Id && w.Status == WarmPoolDatabaseStatus.Creating),
                Claimed = db.WarmPoolDatabases.Count(w => w.DatabaseServerId == s.Id && w.Status == WarmPoolDatabaseStatus.Claimed),
            })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => new WarmPoolServerState(r.Name, r.Status,
            r.Status == DatabaseServerStatus.Active ? options.Value.Size : 0, r.Ready, r.ReadyAll - r.Ready, r.Creating, r.Claimed))];
    }

    /// <summary>Refreshes the <c>cleancrm.warm_pool.available</c> gauge (one series per server: bounded cardinality).</summary>
    public async Task PublishAvailableAsync(CancellationToken cancellationToken)
    {
        foreach (var state in await StatusAsync(null, cancellationToken))
        {
            metrics.WarmPoolAvailable[state.Server] = state.Ready;
        }
    }

    private async Task ObserveAsync(Guid organizationId, string stage, CancellationToken cancellationToken)
    {
        foreach (var observer in _observers)
        {
            await observer.AfterStageAsync(organizationId, stage, cancellationToken);
        }
    }

    private static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? default : (T)value;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm pool of server {Server} is empty; the signup clones the template")]
    private static partial void LogPoolEmpty(ILogger logger, string server);

    [LoggerMessage(Level = LogLevel.Information, Message = "Organization {OrganizationId} claimed warm-pool database {EntryId}")]
    private static partial void LogClaimed(ILogger logger, Guid organizationId, Guid entryId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Warm pool refilled: {Created} created, {Migrated} migrated, {Discarded} leftovers discarded")]
    private static partial void LogRefilled(ILogger logger, int created, int migrated, int discarded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating a warm-pool database on server {Server} failed")]
    private static partial void LogCreateFailed(ILogger logger, Exception exception, string server);
}
