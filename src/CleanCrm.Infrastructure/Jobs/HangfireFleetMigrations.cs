using CleanCrm.Application.Fleet;
using Hangfire;

namespace CleanCrm.Infrastructure.Jobs;

/// <summary>Fleet migrations as Hangfire jobs on the maintenance queue; progress and report live in job parameters.</summary>
public sealed class HangfireFleetMigrations(IBackgroundJobClient jobs, JobStorage storage) : IFleetMigrations
{
    public Task<string> StartAsync(int? parallelism, CancellationToken cancellationToken) => Task.FromResult(FleetMigrationJob.Enqueue(jobs, parallelism));

    public Task<FleetMigrationStatusDto?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
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
