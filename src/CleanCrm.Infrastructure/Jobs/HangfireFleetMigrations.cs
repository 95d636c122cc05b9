using System.Globalization;
using CleanCrm.Application.Fleet;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Hangfire.Storage;

namespace CleanCrm.Infrastructure.Jobs;

/// <summary>Fleet migrations as Hangfire jobs on the maintenance queue; progress and report live in job parameters.</summary>
public sealed class HangfireFleetMigrations(IBackgroundJobClient jobs, JobStorage storage) : IFleetMigrations
{
    public string SchemaHead => TenantMigrations.LatestVersion;

    public Task<string> StartAsync(int? parallelism, bool? safetyBackup, CancellationToken cancellationToken) =>
        Task.FromResult(FleetMigrationJob.Enqueue(jobs, storage, new FleetRunOptions(parallelism, safetyBackup)));

    public Task<string> StartOrganizationAsync(Guid organizationId, bool? safetyBackup, CancellationToken cancellationToken) =>
        Task.FromResult(FleetMigrationJob.Enqueue(jobs, storage, new FleetRunOptions(1, safetyBackup, organizationId)));

    public Task<FleetMigrationStatusDto?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        // Hangfire.PostgreSql's job ids are positive 64-bit numbers and its storage throws FormatException on anything
        // else; an id that cannot be a job is simply not found.
        if (!long.TryParse(jobId, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return Task.FromResult<FleetMigrationStatusDto?>(null);
        }

        using var connection = storage.GetConnection();
        return Task.FromResult(Read(connection, jobId));
    }

    public Task<IReadOnlyList<FleetMigrationStatusDto>> ListRecentAsync(int limit, CancellationToken cancellationToken)
    {
        using var connection = storage.GetConnection();
        var ids = connection is JobStorageConnection listing
            ? listing.GetRangeFromList(FleetMigrationJob.RecentRunsList, 0, FleetMigrationJob.RecentRunsKept - 1)
            : [];

        // Newest first by job id (ids grow), whatever order the storage keeps its list in.
        IReadOnlyList<FleetMigrationStatusDto> items =
        [
            .. ids.Where(id => long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                .Distinct(StringComparer.Ordinal)
                .OrderByDescending(id => long.Parse(id, CultureInfo.InvariantCulture))
                .Select(id => Read(connection, id))
                .OfType<FleetMigrationStatusDto>()
                .Take(limit),
        ];
        return Task.FromResult(items);
    }

    private static FleetMigrationStatusDto? Read(IStorageConnection connection, string jobId)
    {
        var job = connection.GetJobData(jobId);
        if (job is null || job.Job?.Type != typeof(FleetMigrationJob))
        {
            return null;
        }

        var withOptions = job.Job.Method.Name == nameof(FleetMigrationJob.RunWithOptionsAsync) && job.Job.Args.Count >= 3;
        string? error = null;
        if (string.Equals(job.State, "Failed", StringComparison.OrdinalIgnoreCase)
            && connection.GetStateData(jobId)?.Data is { } data && data.TryGetValue("ExceptionMessage", out var message))
        {
            error = FleetMigrator.Describe(new InvalidOperationException(message));
        }

        return new FleetMigrationStatusDto(
            jobId,
            (job.State ?? "unknown").ToLowerInvariant(),
            connection.GetJobParameter(jobId, FleetMigrationJob.ProgressParameter),
            connection.GetJobParameter(jobId, FleetMigrationJob.ReportParameter))
        {
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(job.CreatedAt, DateTimeKind.Utc)),
            SafetyBackup = withOptions ? job.Job.Args[1] as bool? : null,
            OrganizationId = withOptions ? job.Job.Args[2] as Guid? : null,
            Error = error,
        };
    }
}
