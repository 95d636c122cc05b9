using System.Globalization;
using CleanCrm.Application.Fleet;
using Hangfire;

namespace CleanCrm.Infrastructure.Jobs;

/// <summary>Fleet migrations as Hangfire jobs on the maintenance queue; progress and report live in job parameters.</summary>
public sealed class HangfireFleetMigrations(IBackgroundJobClient jobs, JobStorage storage) : IFleetMigrations
{
    public Task<string> StartAsync(int? parallelism, CancellationToken cancellationToken) =>
        Task.FromResult(FleetMigrationJob.Enqueue(jobs, parallelism));

    public Task<FleetMigrationStatusDto?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        // Hangfire.PostgreSql's job ids are positive 64-bit numbers and its storage throws FormatException on anything
        // else; an id that cannot be a job is simply not found.
        if (!long.TryParse(jobId, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return Task.FromResult<FleetMigrationStatusDto?>(null);
        }

        using var connection = storage.GetConnection();
        var job = connection.GetJobData(jobId);
        if (job is null || job.Job?.Type != typeof(FleetMigrationJob))
        {
            return Task.FromResult<FleetMigrationStatusDto?>(null);
        }

        return Task.FromResult<FleetMigrationStatusDto?>(new FleetMigrationStatusDto(
            jobId,
            (job.State ?? "unknown").ToLowerInvariant(),
            connection.GetJobParameter(jobId, FleetMigrationJob.ProgressParameter),
            connection.GetJobParameter(jobId, FleetMigrationJob.ReportParameter)));
    }
}
