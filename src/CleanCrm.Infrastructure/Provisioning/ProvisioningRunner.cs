using System.Diagnostics;
using System.Diagnostics.Metrics;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Provisioning settings (section <c>CleanCrm:Provisioning</c>).</summary>
public sealed class ProvisioningOptions
{
    public const string SectionName = "CleanCrm:Provisioning";

    /// <summary>Attempts of a run before the organization is marked failed.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 20)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Delay before the second attempt; doubles for each further attempt.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 600_000)]
    public int RetryDelayMs { get; set; } = 1_000;

    /// <summary>
    /// How long a run waits for the secret store when a step fails because the store cannot be reached
    /// (<see cref="SecretStoreUnavailableException"/>): such failures are retried with backoff
    /// (doubling from <see cref="RetryDelayMs"/>, at most 30 s apart) without using up <see cref="MaxAttempts"/>, so a signup
    /// during a vault outage converges once the vault is back instead of failing (docs/reliability.md, scenario 5b).
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 86_400)]
    public int SecretStoreWaitSeconds { get; set; } = 600;

    /// <summary>A pending run not handed to the queue after this long is re-queued by the outbox sweeper.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 3_600)]
    public int RequeueAfterSeconds { get; set; } = 5;

    /// <summary>How long a deleted organization's database is kept before it is dropped (an admin can still resume it).</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 525_600)]
    public int DeleteGraceMinutes { get; set; } = 4_320;
}

/// <summary>Sees each step start and finish. Production has none; tests use one to stop a run between steps (a crash).</summary>
public interface IProvisioningStepObserver
{
    ValueTask BeforeStepAsync(Guid organizationId, string step, CancellationToken cancellationToken);

    ValueTask AfterStepAsync(Guid organizationId, string step, CancellationToken cancellationToken);
}

/// <summary>Meter <c>CleanCrm.Provisioning</c>: step and total durations, runs by outcome.</summary>
public sealed class ProvisioningMetrics : IDisposable
{
    public const string MeterName = "CleanCrm.Provisioning";
    private readonly Meter _meter;

    public ProvisioningMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        StepDuration = _meter.CreateHistogram<double>("cleancrm.provisioning.step.duration", "ms", "Duration of one provisioning step");
        RunDuration = _meter.CreateHistogram<double>("cleancrm.provisioning.run.duration", "ms",
            "Duration of a provisioning run from start to outcome");
        Runs = _meter.CreateCounter<long>("cleancrm.provisioning.runs", description: "Provisioning runs by outcome");
        _meter.CreateObservableGauge("cleancrm.warm_pool.available",
            () => WarmPoolAvailable.Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>("server", p.Key))),
            "{database}", "Ready warm-pool databases at this build's schema version, per database server");
    }

    /// <summary>Ready pool databases per server name, as last counted by this process (refill, claim, <c>warm-pool</c>).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> WarmPoolAvailable { get; } = new(StringComparer.Ordinal);

    public Histogram<double> StepDuration { get; }

    public Histogram<double> RunDuration { get; }

    public Counter<long> Runs { get; }

    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// Executes a persisted provisioning run step by step (reserve → create_role → create_database → migrate → seed →
/// activate); create_role claims a warm-pool database when the server has one (<see cref="WarmPool"/>). A per-org
/// advisory lock makes concurrent executions harmless; finished steps are skipped, so a run that stopped anywhere
/// resumes where it stopped. Failures are retried with backoff, then the org is marked failed.
/// </summary>
public sealed partial class ProvisioningRunner(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IOptions<CatalogDatabaseOptions> catalogOptions,
    TenantPlacement placement,
    TenantDatabaseProvisioner provisioner,
    TenantSeeder seeder,
    WarmPool warmPool,
    DatabaseServerAdmin admin,
    ProvisioningMetrics metrics,
    IOptions<ProvisioningOptions> options,
    IEnumerable<IProvisioningStepObserver> observers,
    Email.EmailQueue mail,
    Application.Common.Email.IPublicLinks links,
    DatabaseSizes sizes,
    TimeProvider clock,
    ILogger<ProvisioningRunner> logger)
{
    private readonly IProvisioningStepObserver[] _observers = [.. observers];

    public async Task<ProvisioningStatus> RunAsync(Guid runId, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organizationId = await db.ProvisioningRuns.Where(r => r.Id == runId).Select(r => (Guid?)r.OrganizationId)
            .FirstOrDefaultAsync(cancellationToken);
        if (organizationId is null)
        {
            LogUnknownRun(logger, runId);
            return ProvisioningStatus.Failed;
        }

        await using var orgLock =
            await OrganizationLock.TryAcquireAsync(catalogOptions.Value.ConnectionString!, organizationId.Value, cancellationToken);
        if (orgLock is null)
        {
            LogBusy(logger, organizationId.Value);
            return ProvisioningStatus.Running;
        }

        var run = await db.ProvisioningRuns.Include(r => r.Steps).FirstAsync(r => r.Id == runId, cancellationToken);
        if (run.Status is ProvisioningStatus.Succeeded or ProvisioningStatus.Failed)
        {
            return run.Status;
        }

        var organization = await db.Organizations.Include(o => o.DatabaseServer)
            .FirstAsync(o => o.Id == run.OrganizationId, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        run.Status = ProvisioningStatus.Running;
        run.Attempt++;
        run.StartedAt ??= clock.GetUtcNow();
        run.Error = null;
        if (organization.Status is OrganizationStatus.Pending or OrganizationStatus.Failed)
        {
            organization.Status = OrganizationStatus.Provisioning;
            organization.UpdatedAt = clock.GetUtcNow();
        }

        await db.SaveChangesAsync(cancellationToken);

        long? waitingForSecrets = null;
        var secretStoreRetries = 0;
        for (var attempt = 1; ;)
        {
            try
            {
                await ExecuteStepsAsync(db, run, organization, cancellationToken);
                break;
            }
            catch (StepFailedException failure) when (IsSecretStoreOutage(failure)
                                                      && clock.GetElapsedTime(waitingForSecrets ??= clock.GetTimestamp())
                                                      < TimeSpan.FromSeconds(options.Value.SecretStoreWaitSeconds))
            {
                // The vault is down, not the step: wait for it with backoff instead of spending attempts (and failing the signup).
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000,
                    Math.Max(100, options.Value.RetryDelayMs) * Math.Pow(2, Math.Min(secretStoreRetries++, 10))));
                LogWaitingForSecretStore(logger, organization.Slug, failure.Step, secretStoreRetries, delay.TotalMilliseconds);
                await Task.Delay(delay, clock, cancellationToken);
            }
            catch (StepFailedException failure) when (attempt < options.Value.MaxAttempts)
            {
                var delay = TimeSpan.FromMilliseconds(options.Value.RetryDelayMs * Math.Pow(2, attempt - 1));
                LogRetrying(logger, failure.InnerException!, organization.Slug, failure.Step, attempt, delay.TotalMilliseconds);
                await Task.Delay(delay, clock, cancellationToken);
                attempt++;
            }
            catch (StepFailedException failure)
            {
                run.Status = ProvisioningStatus.Failed;
                run.Error = $"{failure.Step}: {failure.Reason}";
                run.FinishedAt = clock.GetUtcNow();
                organization.Status = OrganizationStatus.Failed;
                organization.UpdatedAt = clock.GetUtcNow();
                await db.SaveChangesAsync(CancellationToken.None);
                metrics.Runs.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                metrics.RunDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    new KeyValuePair<string, object?>("outcome", "failed"));
                LogFailed(logger, failure.InnerException!, organization.Slug, failure.Step);
                return ProvisioningStatus.Failed;
            }
        }

        run.Status = ProvisioningStatus.Succeeded;
        run.FinishedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);

        // A first size for the admin list now, not at the next hourly measurement; failure here changes nothing.
        await sizes.RefreshAsync(organization.Id, cancellationToken);
        metrics.Runs.Add(1, new KeyValuePair<string, object?>("outcome", "succeeded"));
        metrics.RunDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            new KeyValuePair<string, object?>("outcome", "succeeded"));
        return ProvisioningStatus.Succeeded;
    }

    private async Task ExecuteStepsAsync(CatalogDbContext db, ProvisioningRun run, Organization organization,
        CancellationToken cancellationToken)
    {
        foreach (var step in run.Steps.OrderBy(s => s.Position).Where(s => s.Status != ProvisioningStatus.Succeeded))
        {
            foreach (var observer in _observers)
            {
                await observer.BeforeStepAsync(organization.Id, step.Name, cancellationToken);
            }

            step.Status = ProvisioningStatus.Running;
            step.Attempt++;
            step.StartedAt = clock.GetUtcNow();
            step.FinishedAt = null;
            step.Error = null;
            await db.SaveChangesAsync(cancellationToken);
            var stepStarted = Stopwatch.GetTimestamp();
            try
            {
                await ExecuteStepAsync(db, step.Name, organization, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                db.ChangeTracker.Clear();
                db.Attach(run);
                db.Attach(organization);
                step.Status = ProvisioningStatus.Failed;
                step.Error = Describe(exception);
                step.FinishedAt = clock.GetUtcNow();
                await db.SaveChangesAsync(CancellationToken.None);
                throw new StepFailedException(step.Name, step.Error, exception);
            }

            step.Status = ProvisioningStatus.Succeeded;
            step.FinishedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            metrics.StepDuration.Record(Stopwatch.GetElapsedTime(stepStarted).TotalMilliseconds,
                new KeyValuePair<string, object?>("step", step.Name));

            foreach (var observer in _observers)
            {
                await observer.AfterStepAsync(organization.Id, step.Name, cancellationToken);
            }
        }
    }

    private async Task ExecuteStepAsync(CatalogDbContext db, string step, Organization organization, CancellationToken cancellationToken)
    {
        switch (step)
        {
            case ProvisioningSteps.Reserve:
                if (organization.DatabaseServerId is null)
                {
                    // Placement reads every server's fill, then writes this org's choice: one transaction under one
                    // catalog-wide lock, so two workers placing at once do not both read 0/0 and pick the same server.
                    await using var placing = await db.Database.BeginTransactionAsync(cancellationToken);
                    await db.Database.ExecuteSqlRawAsync(
                        "SELECT pg_advisory_xact_lock(hashtextextended('cleancrm:tenant-placement', 0))", cancellationToken);
                    var server = await placement.ChooseServerAsync(db, cancellationToken);
                    organization.AssignDatabase(server.Id);
                    organization.DatabaseServer = server;
                    organization.UpdatedAt = clock.GetUtcNow();
                    await db.SaveChangesAsync(cancellationToken);
                    await placing.CommitAsync(cancellationToken);
                }

                organization.DatabaseServer ??= await db.DatabaseServers.FirstAsync(s => s.Id == organization.DatabaseServerId,
                    cancellationToken);
                break;
            case ProvisioningSteps.CreateRole:
                // From the server's warm pool when it has a current database: role and database renamed, not created.
                if (!await warmPool.TryClaimAsync(Server(organization), organization.Id, cancellationToken))
                {
                    await provisioner.EnsureRoleAsync(Server(organization), organization.Id, cancellationToken);
                }

                break;
            case ProvisioningSteps.CreateDatabase:
                var origin = await provisioner.EnsureDatabaseAsync(Server(organization), organization.Id, cancellationToken);
                LogDatabase(logger, organization.Slug, origin);
                break;
            case ProvisioningSteps.Migrate:
                organization.SchemaVersion =
                    await provisioner.MigrateAndGrantAsync(Server(organization), organization.Id, cancellationToken);
                organization.UpdatedAt = clock.GetUtcNow();
                await db.SaveChangesAsync(cancellationToken);
                break;
            case ProvisioningSteps.Seed:
                await using (var tenant = new NpgsqlConnection(
                    await admin.ConnectionStringAsync(Server(organization), organization.DatabaseName, cancellationToken)))
                {
                    await tenant.OpenAsync(cancellationToken);
                    await seeder.SeedAsync(db, tenant, organization, cancellationToken);
                }

                break;
            case ProvisioningSteps.Activate:
                var firstActivation = organization.ActivatedAt is null;
                organization.Activate(clock.GetUtcNow(), organization.SchemaVersion ?? TenantMigrations.LatestVersion);
                if (firstActivation)
                {
                    // Committed with the activation: exactly one welcome per organization, even if this step is retried.
                    await mail.AddToOwnersAsync(db, organization.Id, (email, name) =>
                        Application.Common.Email.EmailTemplates.Welcome(organization.Id, email, name, organization.Name,
                            links.OrganizationHome(organization.Slug)), cancellationToken);
                }

                // Not saved here: the caller's "step succeeded" save commits the activation, the step and the welcome
                // mail together, so nobody sees an active org whose activate step is still running.
                break;
            default:
                throw new InvalidOperationException($"Unknown provisioning step '{step}'.");
        }
    }

    private static bool IsSecretStoreOutage(Exception failure)
    {
        for (var inner = failure.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SecretStoreUnavailableException)
            {
                return true;
            }
        }

        return false;
    }

    private static DatabaseServer Server(Organization organization) =>
        organization.DatabaseServer ?? throw new InvalidOperationException($"Organization {organization.Slug} has no database server yet.");

    private static string Describe(Exception exception)
    {
        var text = exception switch
        {
            PostgresException postgres => $"{postgres.SqlState}: {postgres.MessageText}",
            _ => exception.Message,
        };
        return text.Length <= 2000 ? text : text[..2000];
    }

    private sealed class StepFailedException(string step, string reason, Exception inner) : Exception($"Step {step} failed: {reason}",
        inner)
    {
        public string Step { get; } = step;

        public string Reason { get; } = reason;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning run {RunId} does not exist")]
    private static partial void LogUnknownRun(ILogger logger, Guid runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Organization {OrganizationId} is being provisioned by another worker")]
    private static partial void LogBusy(ILogger logger, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Provisioning {Slug} failed at {Step} (attempt {Attempt}); retrying in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string slug, string step, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Provisioning {Slug}: the secret store is unavailable at {Step} (wait {Retry}); retrying in {DelayMs} ms")]
    private static partial void LogWaitingForSecretStore(ILogger logger, string slug, string step, int retry, double delayMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provisioning {Slug} failed at {Step}; the organization is marked failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string slug, string step);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database of {Slug}: {Origin}")]
    private static partial void LogDatabase(ILogger logger, string slug, TenantDatabaseOrigin origin);
}

/// <summary>A session-level advisory lock per organization, held on a dedicated unpooled catalog connection.</summary>
public sealed class OrganizationLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly Guid _organizationId;

    private OrganizationLock(NpgsqlConnection connection, Guid organizationId)
    {
        _connection = connection;
        _organizationId = organizationId;
    }

    public static async Task<OrganizationLock?> TryAcquireAsync(string catalogConnectionString, Guid organizationId,
        CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(catalogConnectionString)
        {
            Pooling = false,
            ApplicationName = "cleancrm-org-lock"
        }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", connection);
        command.Parameters.AddWithValue(Key(organizationId));
        if (await command.ExecuteScalarAsync(cancellationToken) is true)
        {
            return new OrganizationLock(connection, organizationId);
        }

        await connection.DisposeAsync();
        return null;
    }

    public static string Key(Guid organizationId) => $"cleancrm:org:{organizationId:N}";

    /// <summary>Takes the same lock on a connection the caller owns (the fleet migrator holds one per tenant).</summary>
    public static async Task<bool> TryAcquireAsync(NpgsqlConnection catalog, Guid organizationId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", catalog);
        command.Parameters.AddWithValue(Key(organizationId));
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>
    /// Releases a lock taken with <see cref="TryAcquireAsync(NpgsqlConnection, Guid, CancellationToken)"/>; a broken session has released
    /// it already.
    /// </summary>
    public static async Task ReleaseAsync(NpgsqlConnection catalog, Guid organizationId)
    {
        if (catalog.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended($1, 0))", catalog);
            command.Parameters.AddWithValue(Key(organizationId));
            await command.ExecuteScalarAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The session is gone, and its advisory locks with it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended($1, 0))", _connection);
            command.Parameters.AddWithValue(Key(_organizationId));
            await command.ExecuteScalarAsync();
        }
        catch (NpgsqlException)
        {
            // Closing the session below releases the lock anyway.
        }

        await _connection.DisposeAsync();
    }
}
