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
/// Takes one backup: opens a read-only repeatable-read transaction on the tenant database, exports its snapshot, runs
/// <c>pg_dump -Fc --snapshot</c> into the store through a SHA-256 counter while fingerprinting every table in that same
/// snapshot, then records size, checksum, location and fingerprints in the catalog. A failure is recorded with its reason
/// and whatever reached the store is deleted.
/// </summary>
public sealed partial class TenantBackupRunner(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    IOptions<BackupOptions> options,
    DatabaseServerAdmin admin,
    PostgresTools tools,
    IBackupStore store,
    TimeProvider clock,
    ILogger<TenantBackupRunner> logger,
    Observability.OperationsMetrics metrics)
{
    /// <summary>Records a queued backup of the organization's current database; returns its id.</summary>
    public async Task<Guid> CreateAsync(Guid organizationId, BackupTrigger trigger, Guid? requestedBy, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Id == organizationId, cancellationToken)
                           ?? throw new InvalidOperationException($"Organization {organizationId} does not exist.");
        var backup = new Backup
        {
            OrganizationId = organizationId,
            DatabaseServerId = organization.DatabaseServerId,
            DatabaseName = organization.DatabaseName,
            SchemaVersion = organization.SchemaVersion,
            Trigger = trigger,
            Store = store.Kind,
            RequestedBy = requestedBy,
            QueuedAt = clock.GetUtcNow(),
        };
        db.Backups.Add(backup);
        await db.SaveChangesAsync(cancellationToken);
        return backup.Id;
    }

    /// <summary>Creates and runs a backup now, in the caller (final backups before delete, move, migration).</summary>
    public async Task<Backup> BackupNowAsync(Guid organizationId, BackupTrigger trigger, CancellationToken cancellationToken) =>
        await RunAsync(await CreateAsync(organizationId, trigger, null, cancellationToken), cancellationToken);

    /// <summary>Runs a queued backup (a finished one is returned as it is); the result says whether it succeeded.</summary>
    public async Task<Backup> RunAsync(Guid backupId, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var backup = await db.Backups.Include(b => b.Tables).FirstOrDefaultAsync(b => b.Id == backupId, cancellationToken)
                     ?? throw new InvalidOperationException($"Backup {backupId} does not exist.");
        if (backup.Status is not (BackupStatus.Queued or BackupStatus.Running))
        {
            return backup;
        }

        await using var slot = await BackupSlot.AcquireAsync(catalogOptions.Value.ConnectionString!, options.Value.MaxConcurrentBackups,
            TimeSpan.FromSeconds(options.Value.SlotWaitSeconds), cancellationToken);
        var location = $"{backup.OrganizationId:N}/{backup.Id:N}.dump";
        try
        {
            if (slot is null)
            {
                throw new InvalidOperationException($"No backup slot became free within {options.Value.SlotWaitSeconds} s " +
                    $"(CleanCrm:Backups:MaxConcurrentBackups = {options.Value.MaxConcurrentBackups}).");
            }

            var organization = await db.Organizations.Include(o => o.DatabaseServer).AsNoTracking()
                .FirstAsync(o => o.Id == backup.OrganizationId, cancellationToken);
            var server = organization.DatabaseServer
                ?? throw new InvalidOperationException($"Organization {organization.Slug} has no database.");
            backup.Status = BackupStatus.Running;
            backup.StartedAt = clock.GetUtcNow();
            backup.DatabaseServerId = server.Id;
            backup.DatabaseName = organization.DatabaseName;
            backup.Store = store.Kind;
            backup.Error = null;
            backup.Tables.Clear();
            await db.SaveChangesAsync(cancellationToken);

            var connectionString = await admin.ConnectionStringAsync(server, organization.DatabaseName, cancellationToken);
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await TenantDatabaseProvisioner.ExecuteAsync(connection, TableFingerprints.StableOutputSettings, cancellationToken);
            await using var transaction =
                await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            await TenantDatabaseProvisioner.ExecuteAsync(connection, "SET TRANSACTION READ ONLY", cancellationToken);
            string snapshot;
            await using (var export = new NpgsqlCommand("SELECT pg_export_snapshot()", connection))
            {
                snapshot = (string)(await export.ExecuteScalarAsync(cancellationToken))!;
            }

            // Fingerprints first, then the dump, in the same snapshot: one after the other, so a backup keeps at most one
            // PostgreSQL backend busy (plus pg_dump's own compression, below normal priority) and never takes every
            // core from the API and the other tenants (docs/performance.md, fleet backup).
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            var lowPriority = options.Value.LowPriority && BackendPriority.IsLocal(builder.Host);
            if (lowPriority)
            {
                BackendPriority.TryLower(connection.ProcessID, logger);
            }

            var algorithm = TableFingerprints.Current;
            var tables = await TableFingerprints.ComputeAsync(connection, algorithm, cancellationToken);
            var version = await TableFingerprints.SchemaVersionAsync(connection, cancellationToken);

            var source = new ToolConnection(builder.Host!, builder.Port, builder.Username!, builder.Password!, organization.DatabaseName);
            string? sha256 = null;
            long size = 0;
            var applicationName = $"cleancrm-backup-{backup.Id:N}";
            var dump = tools.DumpAsync(
                source,
                snapshot,
                new DumpSettings(options.Value.CompressionLevel, options.Value.LowPriority, applicationName),
                async (output, ct) =>
                {
                    await using var hashing = new HashingReadStream(output);
                    await store.WriteAsync(location, hashing, ct);
                    sha256 = hashing.Sha256;
                    size = hashing.BytesRead;
                },
                cancellationToken);
            if (lowPriority)
            {
                await BackendPriority.LowerDumpSessionAsync(connectionString, applicationName, dump, logger, cancellationToken);
            }

            await dump;
            await transaction.CommitAsync(cancellationToken);

            backup.Status = BackupStatus.Succeeded;
            backup.Location = location;
            backup.Sha256 = sha256;
            backup.SizeBytes = size;
            backup.SchemaVersion = version ?? organization.SchemaVersion;
            backup.FingerprintAlgorithm = algorithm;
            backup.Tables.AddRange(tables);
            backup.FinishedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            LogBackedUp(logger, organization.Slug, backup.Id, size, tables.Sum(t => t.RowCount),
                (backup.FinishedAt - backup.StartedAt)!.Value.TotalMilliseconds);
            metrics.BackupFinished("succeeded", backup.Trigger.ToString().ToLowerInvariant(), backup.FinishedAt - backup.StartedAt);
            return backup;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = FleetMigrator.Describe(exception);
            LogBackupFailed(logger, backup.OrganizationId, backup.Id, reason);
            await DeleteQuietlyAsync(location);
            db.ChangeTracker.Clear();
            await db.Backups.Where(b => b.Id == backup.Id).ExecuteUpdateAsync(
                s => s.SetProperty(b => b.Status, BackupStatus.Failed).SetProperty(b => b.Error, reason)
                    .SetProperty(b => b.FinishedAt, clock.GetUtcNow()).SetProperty(b => b.Location, (string?)null),
                CancellationToken.None);
            backup.Status = BackupStatus.Failed;
            backup.Error = reason;
            metrics.BackupFinished("failed", backup.Trigger.ToString().ToLowerInvariant(), clock.GetUtcNow() - backup.StartedAt);
            return backup;
        }
    }

    private async Task DeleteQuietlyAsync(string location)
    {
        try
        {
            await store.DeleteAsync(location, CancellationToken.None);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or Azure.RequestFailedException)
        {
            LogCleanupFailed(logger, exception, location);
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Backed up {Slug} as {BackupId}: {Bytes} bytes, {Rows} rows fingerprinted in {ElapsedMs:0} ms")]
    private static partial void LogBackedUp(ILogger logger, string slug, Guid backupId, long bytes, long rows, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backup {BackupId} of organization {OrganizationId} failed: {Reason}")]
    private static partial void LogBackupFailed(ILogger logger, Guid organizationId, Guid backupId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete the partial backup file {Location}")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string location);
}

/// <summary>
/// A fleet-wide backup slot: one of <c>MaxConcurrentBackups</c> advisory locks on the catalog, held on a dedicated
/// connection for as long as the backup runs, so every worker process shares the same limit.
/// </summary>
public sealed class BackupSlot : IAsyncDisposable
{
    private const int LockClass = 0x0B4C_0001;
    private readonly NpgsqlConnection _connection;

    private BackupSlot(NpgsqlConnection connection) => _connection = connection;

    public static async Task<BackupSlot?> AcquireAsync(string catalogConnectionString, int slots, TimeSpan wait,
        CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(catalogConnectionString)
        {
            Pooling = false,
            ApplicationName = "cleancrm-backup-slot"
        }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        var deadline = DateTime.UtcNow + wait;
        var delay = TimeSpan.FromMilliseconds(50);
        try
        {
            while (true)
            {
                await using (var command = new NpgsqlCommand(
                    "SELECT s FROM generate_series(0, $1 - 1) s WHERE pg_try_advisory_lock($2, s) LIMIT 1", connection))
                {
                    command.Parameters.AddWithValue(slots);
                    command.Parameters.AddWithValue(LockClass);
                    if (await command.ExecuteScalarAsync(cancellationToken) is int)
                    {
                        return new BackupSlot(connection);
                    }
                }

                if (DateTime.UtcNow >= deadline)
                {
                    await connection.DisposeAsync();
                    return null;
                }

                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1_000));
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Closing the session releases its advisory lock.</summary>
    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
