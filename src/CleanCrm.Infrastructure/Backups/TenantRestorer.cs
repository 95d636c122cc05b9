using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>
/// Restores a backup into a new database (<c>cleancrm_r_&lt;restore id&gt;</c>) on the chosen server: checks the stored
/// file's SHA-256 first and refuses a file that differs, pipes it into pg_restore, compares every table's row count and
/// content hash with those recorded at backup time, and grants the tenant role as provisioning does. Side by side, the
/// copy is left for inspection; in switch mode the organization is pointed at it (same server: both databases renamed in
/// one transaction; another server: the catalog row switches) and the old database is kept, retired, until confirmed.
/// </summary>
public sealed partial class TenantRestorer(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    TenantDatabaseProvisioner provisioner,
    DatabaseServerAdmin admin,
    PostgresTools tools,
    IBackupStore store,
    TenantConnectionPool pool,
    TenantDirectory directory,
    TimeProvider clock,
    ILogger<TenantRestorer> logger)
{
    /// <summary>Runs a queued restore; failures are recorded on the restore (status failed, with the reason), not thrown.</summary>
    public async Task<BackupRestore> RunAsync(Guid restoreId, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var restore = await db.BackupRestores.FirstOrDefaultAsync(r => r.Id == restoreId, cancellationToken)
                      ?? throw new InvalidOperationException($"Restore {restoreId} does not exist.");
        if (restore.Status is not (RestoreStatus.Queued or RestoreStatus.Running))
        {
            return restore;
        }

        // The run holds this lock until it ends. A restore left running with nobody holding it was abandoned by a worker
        // that died (Hangfire hands the job out again after its invisibility timeout): it starts over, which drops and
        // re-creates the scratch database. Held by a live run: this delivery does nothing (docs/BACKUPS.md).
        await using var runLock = await RestoreRunLock.TryAcquireAsync(catalogOptions.Value.ConnectionString!, restore.Id,
            cancellationToken);
        if (runLock is null)
        {
            return restore;
        }

        await db.Entry(restore).ReloadAsync(cancellationToken);
        if (restore.Status is not (RestoreStatus.Queued or RestoreStatus.Running))
        {
            return restore;
        }

        if (restore.Status == RestoreStatus.Running)
        {
            LogRestartingAbandoned(logger, restore.Id, restore.StartedAt);
        }

        var backup = await db.Backups.AsNoTracking().Include(b => b.Tables).FirstAsync(b => b.Id == restore.BackupId, cancellationToken);
        var target = await db.DatabaseServers.AsNoTracking().FirstAsync(s => s.Id == restore.TargetServerId, cancellationToken);
        restore.Status = RestoreStatus.Running;
        restore.StartedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        var scratch = BackupRestore.ScratchDatabaseName(restore.Id);
        try
        {
            await RestoreVerifiedAsync(backup, target, scratch, cancellationToken);
            if (restore.Mode == RestoreMode.Switch)
            {
                await SwitchAsync(db, restore, target, scratch, cancellationToken);
                restore.Status = RestoreStatus.Switched;
            }
            else
            {
                restore.Status = RestoreStatus.Verified;
            }

            restore.FinishedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
            LogRestored(logger, backup.Id, restore.DatabaseName, target.Name, restore.Mode.ToString());
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = FleetMigrator.Describe(exception);
            LogRestoreFailed(logger, backup.Id, reason);
            await DropQuietlyAsync(target, scratch);

            restore.Status = RestoreStatus.Failed;
            restore.Error = reason;
            restore.FinishedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
        }

        return restore;
    }

    /// <summary>Checksum, restore into a fresh <paramref name="database"/>, compare fingerprints, grant. Throws on any mismatch.</summary>
    public async Task RestoreVerifiedAsync(Backup backup, DatabaseServer target, string database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backup);
        ArgumentNullException.ThrowIfNull(target);
        if (backup.Location is null || backup.Sha256 is null)
        {
            throw new InvalidOperationException($"Backup {backup.Id} has no stored file.");
        }

        if (backup.Store != store.Kind)
        {
            throw new InvalidOperationException(
                $"Backup {backup.Id} is in the {backup.Store} store; this process is configured for {store.Kind}.");
        }

        var stored = await store.OpenReadAsync(backup.Location, cancellationToken)
                     ?? throw new InvalidOperationException($"Backup {backup.Id} is missing from the store ({backup.Location}).");
        var (sha256, length) = await HashingReadStream.DigestAsync(stored.Content, cancellationToken);
        if (!string.Equals(sha256, backup.Sha256, StringComparison.Ordinal) || length != backup.SizeBytes)
        {
            throw new InvalidOperationException(
                $"checksum mismatch: the stored file has SHA-256 {sha256} ({length} bytes), the backup recorded {backup.Sha256} " +
                    $"({backup.SizeBytes} bytes); refusing to restore it.");
        }

        await provisioner.EnsureRoleAsync(target, backup.OrganizationId, cancellationToken);
        await using (var maintenance = await OpenAsync(target, "postgres", cancellationToken))
        {
            var quoted = TenantDatabaseProvisioner.Quote(database);
            await TenantDatabaseProvisioner.ExecuteAsync(maintenance, $"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)", cancellationToken);
            await TenantDatabaseProvisioner.ExecuteAsync(maintenance, $"CREATE DATABASE {quoted}", cancellationToken);
            await TenantDatabaseProvisioner.ExecuteAsync(maintenance, $"REVOKE ALL ON DATABASE {quoted} FROM PUBLIC", cancellationToken);
        }

        var connectionString = await admin.ConnectionStringAsync(target, database, cancellationToken);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var again = await store.OpenReadAsync(backup.Location, cancellationToken)
                    ?? throw new InvalidOperationException($"Backup {backup.Id} disappeared from the store during the restore.");
        await using (var hashing = new HashingReadStream(again.Content))
        {
            await tools.RestoreAsync(new ToolConnection(builder.Host!, builder.Port, builder.Username!, builder.Password!, database),
                hashing, cancellationToken);
            if (!string.Equals(hashing.Sha256, backup.Sha256, StringComparison.Ordinal))
            {
                throw new InvalidOperationException("checksum mismatch: the stored file changed while it was being restored.");
            }
        }

        await using (var restored = new NpgsqlConnection(connectionString))
        {
            await restored.OpenAsync(cancellationToken);
            await TenantDatabaseProvisioner.ExecuteAsync(restored, TableFingerprints.StableOutputSettings, cancellationToken);
            var differences = TableFingerprints.Differences(
                backup.Tables, await TableFingerprints.ComputeAsync(restored, backup.FingerprintAlgorithm, cancellationToken));
            if (differences.Count > 0)
            {
                throw new InvalidOperationException($"The restored database differs from the backup: {string.Join("; ", differences)}.");
            }
        }

        await provisioner.GrantAsync(target, backup.OrganizationId, database, cancellationToken);
    }

    private async Task SwitchAsync(CatalogDbContext db, BackupRestore restore, DatabaseServer target, string scratch,
        CancellationToken cancellationToken)
    {
        await using var orgLock =
            await OrganizationLock.TryAcquireAsync(catalogOptions.Value.ConnectionString!, restore.OrganizationId, cancellationToken)
                                  ?? throw new InvalidOperationException("Another job is working on this organization (provisioning, " +
                                      "move, migration); the restored database was not switched in.");
        var organization = await db.Organizations.Include(o => o.DatabaseServer)
            .FirstAsync(o => o.Id == restore.OrganizationId, cancellationToken);
        if (organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended)
            || organization.DatabaseServer is not { } current)
        {
            throw new InvalidOperationException(
                $"Organization {organization.Slug} is {organization.Status}; it cannot be switched to a restored database.");
        }

        var statusBefore = organization.Status;
        var canonical = organization.DatabaseName;
        var role = TenantDatabaseProvisioner.Quote(organization.DatabaseRole);
        organization.Status = OrganizationStatus.Moving;
        organization.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await pool.EvictAsync(organization.Id);
        try
        {
            await using (var maintenance = await OpenAsync(current, "postgres", cancellationToken))
            {
                await TerminateAsync(maintenance, canonical, cancellationToken);
            }

            await using (var maintenance = await OpenAsync(target, "postgres", cancellationToken))
            {
                await TerminateAsync(maintenance, scratch, cancellationToken);
                if (target.Id == current.Id)
                {
                    var retired = BackupRestore.RetiredDatabaseName(restore.Id);

                    // Both renames commit together: the organization's database name never points at nothing.
                    await TenantDatabaseProvisioner.ExecuteAsync(
                        maintenance,
                        $"""
                         BEGIN;
                         ALTER DATABASE {TenantDatabaseProvisioner.Quote(canonical)} RENAME TO {TenantDatabaseProvisioner.Quote(retired)};
                         ALTER DATABASE {TenantDatabaseProvisioner.Quote(scratch)} RENAME TO {TenantDatabaseProvisioner.Quote(canonical)};
                         REVOKE CONNECT ON DATABASE {TenantDatabaseProvisioner.Quote(retired)} FROM {role};
                         COMMIT;
                         """,
                        cancellationToken);
                    restore.PreviousDatabaseName = retired;
                }
                else
                {
                    await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
                        $"ALTER DATABASE {TenantDatabaseProvisioner.Quote(scratch)} RENAME TO {TenantDatabaseProvisioner.Quote(canonical)}",
                        cancellationToken);
                    restore.PreviousDatabaseName = canonical;
                }
            }

            restore.PreviousServerId = current.Id;
            restore.DatabaseName = canonical;

            // A backup from an older schema is brought up to this build's migrations before anyone uses it.
            var version = await TenantDatabaseProvisioner.MigrateAndGrantAsync(
                await admin.ConnectionStringAsync(target, "postgres", cancellationToken), organization.Id, cancellationToken);
            organization.DatabaseServer = await db.DatabaseServers.FirstAsync(s => s.Id == target.Id, cancellationToken);
            organization.DatabaseServerId = target.Id;
            organization.SchemaVersion = version;
        }
        finally
        {
            organization.Status = statusBefore;
            organization.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
            await pool.EvictAsync(organization.Id);
            directory.Invalidate(organization.Id);
        }
    }

    /// <summary>Drops what a finished restore left: the retired database after a switch, or the side-by-side copy.</summary>
    public async Task DropLeftoverAsync(BackupRestore restore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(restore);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        if (restore.Status == RestoreStatus.Verified)
        {
            var target = await db.DatabaseServers.AsNoTracking().FirstAsync(s => s.Id == restore.TargetServerId, cancellationToken);
            await DropAsync(target, restore.DatabaseName, cancellationToken);
            return;
        }

        if (restore.Status == RestoreStatus.Switched && restore.PreviousServerId is { } previousId
            && restore.PreviousDatabaseName is { } previousName)
        {
            var previous = await db.DatabaseServers.AsNoTracking().FirstAsync(s => s.Id == previousId, cancellationToken);
            await DropAsync(previous, previousName, cancellationToken);
            if (previousId != restore.TargetServerId)
            {
                await using var maintenance = await OpenAsync(previous, "postgres", cancellationToken);
                await TenantDatabaseProvisioner.ExecuteAsync(maintenance,
                    $"DROP ROLE IF EXISTS {TenantDatabaseProvisioner.Quote(Organization.DatabaseRoleFor(restore.OrganizationId))}",
                    cancellationToken);
            }
        }
    }

    public async Task DropAsync(DatabaseServer server, string database, CancellationToken cancellationToken)
    {
        await using var maintenance = await OpenAsync(server, "postgres", cancellationToken);
        await TenantDatabaseProvisioner.ExecuteAsync(
            maintenance, $"DROP DATABASE IF EXISTS {TenantDatabaseProvisioner.Quote(database)} WITH (FORCE)", cancellationToken);
    }

    private async Task DropQuietlyAsync(DatabaseServer server, string database)
    {
        try
        {
            await DropAsync(server, database, CancellationToken.None);
        }
        catch (NpgsqlException exception)
        {
            LogCleanupFailed(logger, exception, database, server.Name);
        }
    }

    private static async Task TerminateAsync(NpgsqlConnection maintenance, string database, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", maintenance);
        command.Parameters.AddWithValue(database);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private async Task<NpgsqlConnection> OpenAsync(DatabaseServer server, string database, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(server, database, cancellationToken));
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Restored backup {BackupId} into {Database} on {Server} ({Mode}); every table verified")]
    private static partial void LogRestored(ILogger logger, Guid backupId, string database, string server, string mode);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Restore {RestoreId} was left running (started {StartedAt:O}) by a process that died; starting it over")]
    private static partial void LogRestartingAbandoned(ILogger logger, Guid restoreId, DateTimeOffset? startedAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restoring backup {BackupId} failed: {Reason}")]
    private static partial void LogRestoreFailed(ILogger logger, Guid backupId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drop the abandoned restore {Database} on {Server}")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string database, string server);
}

/// <summary>
/// One restore's run: a session-level advisory lock on the catalog, held on a dedicated connection for the whole run, so
/// a second delivery of the job can tell a live run (lock taken) from one whose process died (lock free).
/// </summary>
public sealed class RestoreRunLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;

    private RestoreRunLock(NpgsqlConnection connection) => _connection = connection;

    public static async Task<RestoreRunLock?> TryAcquireAsync(string catalogConnectionString, Guid restoreId,
        CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(catalogConnectionString)
        {
            Pooling = false,
            ApplicationName = "cleancrm-restore-run"
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", connection);
            command.Parameters.AddWithValue($"cleancrm:restore:{restoreId:N}");
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return new RestoreRunLock(connection);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    /// <summary>Closing the session releases the lock.</summary>
    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
