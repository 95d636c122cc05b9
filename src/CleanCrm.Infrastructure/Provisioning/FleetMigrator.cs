using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

public enum FleetMigrationPhase
{
    Catalog,
    Templates,
    Tenants,
    Completed,
}

/// <summary>A snapshot of a fleet run; reported from several threads at once, so a consumer must be thread-safe.</summary>
public sealed record FleetMigrationProgress(FleetMigrationPhase Phase, int Total, int Done, int Migrated, int Skipped, int Failed,
    string? LastSlug);

/// <summary>What happened to one organization's database in a fleet run.</summary>
public sealed record FleetTenantResult(Guid OrganizationId, string Slug, string? FromVersion, string? ToVersion, string? Reason,
    double Seconds);

/// <summary>The template database of one server: its version afterwards, or why it failed.</summary>
public sealed record FleetTemplateResult(string Server, string? Version, string? Error);

/// <summary>
/// The outcome of a fleet run. <see cref="UpToDate"/> counts organizations whose catalog version already was the target
/// (never connected to); <see cref="Skipped"/> lists the ones left alone for a reason (busy, status changed).
/// </summary>
public sealed record FleetMigrationReport(
    string TargetVersion,
    int Parallelism,
    int Considered,
    int UpToDate,
    IReadOnlyList<FleetTenantResult> Migrated,
    IReadOnlyList<FleetTenantResult> Skipped,
    IReadOnlyList<FleetTenantResult> Failed,
    IReadOnlyList<FleetTemplateResult> Templates,
    TimeSpan TenantsDuration,
    TimeSpan Duration)
{
    public int SkippedCount => UpToDate + Skipped.Count;

    public bool Succeeded => Failed.Count == 0 && Templates.All(t => t.Error is null) && WarmPoolErrors.Count == 0;

    /// <summary>Warm-pool databases brought to the target version (a full fleet run migrates the pools after the templates).</summary>
    public int WarmPoolMigrated { get; init; }

    public IReadOnlyList<string> WarmPoolErrors { get; init; } = [];
}

/// <summary>
/// What a fleet run covers: <see cref="SafetyBackup"/> null follows <c>CleanCrm:Backups:BeforeMigration</c>; with
/// <see cref="OrganizationId"/> only that organization is migrated (no catalog or template step).
/// </summary>
public sealed record FleetRunOptions(int? MaxParallelism = null, bool? SafetyBackup = null, Guid? OrganizationId = null);

/// <summary>
/// Migrates the whole fleet: the catalog, every active server's template, then every active or suspended organization's
/// database whose catalog schema version is not this build's latest, several at a time. Each organization is migrated
/// under its advisory lock (<see cref="OrganizationLock"/>); a failure is recorded and the run goes on, so running it
/// again finishes what failed.
/// </summary>
public sealed partial class FleetMigrator(
    DatabaseMigrator databaseMigrator,
    DatabaseServerAdmin admin,
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    IOptions<MigrationOptions> migrationOptions,
    TenantDirectory directory,
    Backups.TenantBackupRunner backups,
    WarmPool warmPool,
    IOptions<Backups.BackupOptions> backupOptions,
    TimeProvider clock,
    ILogger<FleetMigrator> logger)
{
    private const string Migratable = "('active', 'suspended')";

    public Task<FleetMigrationReport> MigrateAsync(int? maxParallelism, IProgress<FleetMigrationProgress>? progress,
        CancellationToken cancellationToken) =>
        RunAsync(new FleetRunOptions(maxParallelism), progress, cancellationToken);

    public async Task<FleetMigrationReport> RunAsync(FleetRunOptions options, IProgress<FleetMigrationProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var parallelism = options.MaxParallelism ?? migrationOptions.Value.MaxParallelism;
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parallelism, MigrationOptions.MaxAllowedParallelism, nameof(options));
        var safetyBackup = options.SafetyBackup ?? backupOptions.Value.BeforeMigration;
        var target = TenantMigrations.LatestVersion;
        var started = Stopwatch.StartNew();

        // One organization: the catalog and templates are the deployment's business (a fleet run), not this one's.
        if (options.OrganizationId is null)
        {
            progress?.Report(new FleetMigrationProgress(FleetMigrationPhase.Catalog, 0, 0, 0, 0, 0, null));
            await databaseMigrator.MigrateCatalogAsync(cancellationToken);
        }

        progress?.Report(new FleetMigrationProgress(FleetMigrationPhase.Templates, 0, 0, 0, 0, 0, null));
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var servers = await db.DatabaseServers.AsNoTracking().ToDictionaryAsync(s => s.Id, cancellationToken);
        var templates = new List<FleetTemplateResult>();
        foreach (var server in servers.Values.Where(s => s.Status == DatabaseServerStatus.Active && options.OrganizationId is null)
            .OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            templates.Add(await MigrateTemplateAsync(server, cancellationToken));
        }

        // The warm pools next: a signup only claims a pooled database at this build's version, so one left behind would
        // sit unused. Draining servers' pools too: their entries are still claimable if the server is made active again.
        var warmPoolErrors = new List<string>();
        var warmPoolMigrated = options.OrganizationId is null
            ? await warmPool.MigrateBehindAsync(servers.Values.Where(s => s.Status != DatabaseServerStatus.Offline), warmPoolErrors,
                cancellationToken)
            : 0;

        var candidates = db.Organizations.AsNoTracking();
        if (options.OrganizationId is { } only)
        {
            candidates = candidates.Where(o => o.Id == only);
        }

        var organizations = await candidates
            .Where(o => o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended)
            .Select(o => new Candidate(o.Id, o.Slug, o.SchemaVersion, o.DatabaseServerId))
            .ToListAsync(cancellationToken);
        var pending = organizations.Where(o => o.SchemaVersion != target).OrderBy(o => o.Slug, StringComparer.Ordinal).ToList();
        var upToDate = organizations.Count - pending.Count;

        // EF refuses to migrate a model that has changes no migration captures; checked once here, not per tenant.
        if (pending.Count > 0 && TenantMigrations.HasPendingModelChanges())
        {
            throw new InvalidOperationException(
                "The tenant model has changes that no tenant migration captures; add a migration before migrating the fleet.");
        }

        // Each server's admin credentials are read from the secret store once per run, not once per tenant.
        var adminConnections = new Dictionary<Guid, (string? ConnectionString, string? Error)>();
        foreach (var serverId in pending.Select(p => p.DatabaseServerId).OfType<Guid>().Distinct())
        {
            if (servers.TryGetValue(serverId, out var server))
            {
                try
                {
                    adminConnections[serverId] = (await admin.ConnectionStringAsync(server, "postgres", cancellationToken), null);
                }
                catch (Exception exception) when (!IsCancellation(exception, cancellationToken))
                {
                    adminConnections[serverId] = (null, Describe(exception));
                }
            }
        }

        var migrated = new ConcurrentBag<FleetTenantResult>();
        var skipped = new ConcurrentBag<FleetTenantResult>();
        var failed = new ConcurrentBag<FleetTenantResult>();
        var done = 0;
        progress?.Report(new FleetMigrationProgress(FleetMigrationPhase.Tenants, pending.Count, 0, 0, 0, 0, null));
        var tenantsStarted = Stopwatch.StartNew();
        await Parallel.ForEachAsync(
            pending,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (candidate, ct) =>
            {
                var (outcome, result) = await MigrateTenantAsync(candidate, adminConnections, target, safetyBackup, ct);
                (outcome switch { Outcome.Migrated => migrated, Outcome.Skipped => skipped, _ => failed }).Add(result);
                var count = Interlocked.Increment(ref done);
                progress?.Report(new FleetMigrationProgress(FleetMigrationPhase.Tenants, pending.Count, count, migrated.Count,
                    skipped.Count, failed.Count, candidate.Slug));
            });
        var tenantsDuration = tenantsStarted.Elapsed;

        static List<FleetTenantResult> Sorted(IEnumerable<FleetTenantResult> results) =>
            results.OrderBy(r => r.Slug, StringComparer.Ordinal).ToList();
        var report = new FleetMigrationReport(
            target,
            parallelism,
            organizations.Count,
            upToDate,
            Sorted(migrated),
            Sorted(skipped),
            Sorted(failed),
            templates,
            tenantsDuration,
            started.Elapsed)
        {
            WarmPoolMigrated = warmPoolMigrated,
            WarmPoolErrors = warmPoolErrors,
        };
        progress?.Report(new FleetMigrationProgress(FleetMigrationPhase.Completed, pending.Count, done, migrated.Count, skipped.Count,
            failed.Count, null));
        LogFleetMigrated(logger, target, report.Migrated.Count, report.SkippedCount, report.Failed.Count, report.Duration.TotalSeconds);
        return report;
    }

    private async Task<FleetTemplateResult> MigrateTemplateAsync(DatabaseServer server, CancellationToken cancellationToken)
    {
        try
        {
            return new FleetTemplateResult(server.Name, await databaseMigrator.MigrateTemplateAsync(server, cancellationToken), null);
        }
        catch (Exception exception) when (!IsCancellation(exception, cancellationToken))
        {
            var reason = Describe(exception);
            LogTemplateFailed(logger, server.Name, reason);
            return new FleetTemplateResult(server.Name, null, reason);
        }
    }

    private async Task<(Outcome, FleetTenantResult)> MigrateTenantAsync(
        Candidate candidate,
        IReadOnlyDictionary<Guid, (string? ConnectionString, string? Error)> adminConnections,
        string target,
        bool safetyBackup,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        FleetTenantResult Result(string? to, string? reason) =>
            new(candidate.Id, candidate.Slug, candidate.SchemaVersion, to, reason, Stopwatch.GetElapsedTime(started).TotalSeconds);

        try
        {
            await using var catalog = new NpgsqlConnection(catalogOptions.Value.ConnectionString);
            await catalog.OpenAsync(cancellationToken);
            if (!await OrganizationLock.TryAcquireAsync(catalog, candidate.Id, cancellationToken))
            {
                return (Outcome.Skipped,
                    Result(null, "busy: another process holds the organization's lock (migration, provisioning or move); run again later"));
            }

            try
            {
                // Re-read under the lock: the list was taken before, and the org may have moved on since.
                var current = await ReadAsync(catalog, candidate.Id, cancellationToken);
                if (current is null)
                {
                    return (Outcome.Skipped, Result(null, "no longer active or suspended"));
                }

                if (current.Value.SchemaVersion == target)
                {
                    return (Outcome.Skipped, Result(target, "already migrated by another run"));
                }

                if (string.CompareOrdinal(current.Value.SchemaVersion, target) > 0)
                {
                    return (Outcome.Skipped, Result(null, $"at {current.Value.SchemaVersion}, newer than this build's {target}"));
                }

                if (current.Value.ServerId is not { } serverId || !adminConnections.TryGetValue(serverId, out var server))
                {
                    return (Outcome.Failed,
                        Result(null, "its database server is not the one listed when the run started, or is not registered; run again"));
                }

                if (server.ConnectionString is null)
                {
                    return (Outcome.Failed, Result(null, server.Error));
                }

                if (safetyBackup)
                {
                    var safety = await backups.BackupNowAsync(candidate.Id, BackupTrigger.PreMigration, cancellationToken);
                    if (safety.Status != BackupStatus.Succeeded)
                    {
                        return (Outcome.Failed, Result(null, $"the backup before migrating failed: {safety.Error}"));
                    }
                }

                // Migrate, then grant: new tables are already covered by the default privileges set at provisioning
                // (they are created by the same migrator role); granting again, idempotently, also covers a migrator
                // role that changed since.
                var version =
                    await TenantDatabaseProvisioner.MigrateAndGrantAsync(server.ConnectionString, candidate.Id, cancellationToken);
                await UpdateVersionAsync(catalog, candidate.Id, version, cancellationToken);
                directory.Invalidate(candidate.Id);
                if (version != target)
                {
                    return (Outcome.Failed, Result(version, $"the database is at '{version}' after migrating, not '{target}'"));
                }

                LogTenantMigrated(logger, candidate.Slug, candidate.SchemaVersion, version);
                return (Outcome.Migrated, Result(version, null));
            }
            finally
            {
                await OrganizationLock.ReleaseAsync(catalog, candidate.Id);
            }
        }
        catch (Exception exception) when (!IsCancellation(exception, cancellationToken))
        {
            var reason = Describe(exception);
            LogTenantFailed(logger, candidate.Slug, reason);
            return (Outcome.Failed, Result(null, reason));
        }
    }

    private static async Task<(string? SchemaVersion, Guid? ServerId)?> ReadAsync(NpgsqlConnection catalog, Guid organizationId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT schema_version, database_server_id FROM organizations WHERE id = $1 AND status IN {Migratable}", catalog);
        command.Parameters.AddWithValue(organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetGuid(1));
    }

    private async Task UpdateVersionAsync(NpgsqlConnection catalog, Guid organizationId, string version,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("UPDATE organizations SET schema_version = $2, updated_at = $3 WHERE id = $1", catalog);
        command.Parameters.AddWithValue(organizationId);
        command.Parameters.AddWithValue(version);
        command.Parameters.AddWithValue(clock.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static bool IsCancellation(Exception exception, CancellationToken cancellationToken) =>
        exception is OperationCanceledException && cancellationToken.IsCancellationRequested;

    /// <summary>The exception's messages (outer to inner, deduplicated), without anything that looks like a password.</summary>
    public static string Describe(Exception exception)
    {
        var messages = new List<string>();
        for (var current = exception; current is not null; current = current.InnerException)
        {
            var message = current.Message.Trim();
            if (message.Length > 0 && !messages.Any(m => m.Contains(message, StringComparison.Ordinal)))
            {
                messages.Add(message);
            }
        }

        var text = PasswordPattern().Replace(string.Join(" → ", messages), "$1=***");
        return text.Length <= 500 ? text : text[..497] + "...";
    }

    [GeneratedRegex("(password|pwd)\\s*=\\s*[^;\\s]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordPattern();

    private enum Outcome
    {
        Migrated,
        Skipped,
        Failed,
    }

    private sealed record Candidate(Guid Id, string Slug, string? SchemaVersion, Guid? DatabaseServerId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Organization {Slug} migrated from {From} to {To}")]
    private static partial void LogTenantMigrated(ILogger logger, string slug, string? from, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migrating the database of organization {Slug} failed: {Reason}")]
    private static partial void LogTenantFailed(ILogger logger, string slug, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migrating the template database on server {Server} failed: {Reason}")]
    private static partial void LogTemplateFailed(ILogger logger, string server, string reason);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Fleet migrated to {Target}: {Migrated} migrated, {Skipped} skipped, {Failed} failed in {Seconds:0.0} s")]
    private static partial void LogFleetMigrated(ILogger logger, string target, int migrated, int skipped, int failed, double seconds);
}
