using System.ComponentModel;
using System.Text.Json;
using CleanCrm.Infrastructure.Provisioning;
using Hangfire;
using Hangfire.Server;
using Hangfire.Storage;

namespace CleanCrm.Infrastructure.Jobs;

/// <summary>
/// Runs <see cref="FleetMigrator"/> on the maintenance queue. While it runs, the job parameter
/// <see cref="ProgressParameter"/> holds the latest progress (refreshed every second); at the end the report is the
/// job's result, its <see cref="ReportParameter"/> parameter, and the "last report" in the hash <see cref="LastRunHash"/>
/// (see <see cref="ReadLastRun"/>), so an admin endpoint can queue a run and show how it went.
/// </summary>
public sealed class FleetMigrationJob(FleetMigrator migrator, TimeProvider clock, Observability.OperationsMetrics metrics)
{
    public const string ProgressParameter = "FleetMigrationProgress";
    public const string ReportParameter = "FleetMigrationReport";
    public const string LastRunHash = "cleancrm:fleet-migration:last";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The ids of the runs queued through <see cref="Enqueue(IBackgroundJobClient, JobStorage, FleetRunOptions)"/>.</summary>
    public const string RecentRunsList = "cleancrm:fleet-migration:runs";

    /// <summary>How many run ids <see cref="RecentRunsList"/> keeps.</summary>
    public const int RecentRunsKept = 100;

    /// <summary>Queues a fleet run (parallelism null: <c>CleanCrm:Migrations:MaxParallelism</c>) and returns the job id.</summary>
    public static string Enqueue(IBackgroundJobClient jobs, int? parallelism = null) =>
        jobs.Enqueue<FleetMigrationJob>(HangfireStorage.MaintenanceQueue, job => job.RunAsync(parallelism, null, CancellationToken.None));

    /// <summary>Queues a run with <paramref name="options"/> and remembers its id in <see cref="RecentRunsList"/>.</summary>
    public static string Enqueue(IBackgroundJobClient jobs, JobStorage storage, FleetRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        var jobId = jobs.Enqueue<FleetMigrationJob>(
            HangfireStorage.MaintenanceQueue,
            job => job.RunWithOptionsAsync(
                options.MaxParallelism, options.SafetyBackup, options.OrganizationId, null, CancellationToken.None));
        using var connection = storage.GetConnection();
        using var transaction = connection.CreateWriteTransaction();
        transaction.InsertToList(RecentRunsList, jobId);
        transaction.TrimList(RecentRunsList, 0, RecentRunsKept - 1);
        transaction.Commit();
        return jobId;
    }

    /// <summary>The last finished run: its job id, when it finished, and the report; null before the first.</summary>
    public static (string JobId, DateTimeOffset FinishedAt, FleetMigrationReport Report)? ReadLastRun(JobStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        using var connection = storage.GetConnection();
        var entries = connection.GetAllEntriesFromHash(LastRunHash);
        if (entries is null || !entries.TryGetValue("report", out var json)
            || JsonSerializer.Deserialize<FleetMigrationReport>(json, Json) is not { } report)
        {
            return null;
        }

        return (entries["job-id"], DateTimeOffset.Parse(entries["finished-at"], System.Globalization.CultureInfo.InvariantCulture), report);
    }

    /// <summary>Tenant failures are in the report, not retried by Hangfire: running the job again finishes them.</summary>
    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Migrate the fleet")]
    public Task<FleetMigrationReport> RunAsync(int? parallelism, PerformContext? context, CancellationToken cancellationToken) =>
        RunWithOptionsAsync(parallelism, null, null, context, cancellationToken);

    /// <summary>A run with a safety-backup choice, or of one organization only (<see cref="FleetRunOptions"/>).</summary>
    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Migrate the fleet (organization {2})")]
    public async Task<FleetMigrationReport> RunWithOptionsAsync(int? parallelism, bool? safetyBackup, Guid? organizationId,
        PerformContext? context, CancellationToken cancellationToken)
    {
        var progress = new LatestProgress();
        using var stopPublishing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var publisher = context is null ? Task.CompletedTask : PublishProgressAsync(context, progress, stopPublishing.Token);
        FleetMigrationReport report;
        try
        {
            report = await migrator.RunAsync(new FleetRunOptions(parallelism, safetyBackup, organizationId), progress, cancellationToken);
        }
        finally
        {
            await stopPublishing.CancelAsync();
            await publisher;
        }

        metrics.FleetRunFinished(report.Migrated.Count, report.Skipped.Count, report.Failed.Count);

        if (context is not null)
        {
            if (progress.Latest is { } latest)
            {
                context.SetJobParameter(ProgressParameter, latest);
            }

            context.SetJobParameter(ReportParameter, report);
            using var transaction = context.Connection.CreateWriteTransaction();
            transaction.SetRangeInHash(LastRunHash, new Dictionary<string, string>
            {
                ["job-id"] = context.BackgroundJob.Id,
                ["finished-at"] = clock.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["report"] = JsonSerializer.Serialize(report, Json),
            });
            transaction.Commit();
        }

        return report;
    }

    private static async Task PublishProgressAsync(PerformContext context, LatestProgress progress, CancellationToken cancellationToken)
    {
        FleetMigrationProgress? published = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                if (progress.Latest is { } latest && latest != published)
                {
                    context.SetJobParameter(ProgressParameter, latest);
                    published = latest;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Keeps the snapshot with the most tenants done (reports arrive from several threads).</summary>
    private sealed class LatestProgress : IProgress<FleetMigrationProgress>
    {
        private readonly Lock _gate = new();

        public FleetMigrationProgress? Latest { get; private set; }

        public void Report(FleetMigrationProgress value)
        {
            lock (_gate)
            {
                if (Latest is null || value.Phase > Latest.Phase || (value.Phase == Latest.Phase && value.Done >= Latest.Done))
                {
                    Latest = value;
                }
            }
        }
    }
}
