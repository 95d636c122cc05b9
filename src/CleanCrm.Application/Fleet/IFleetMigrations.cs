namespace CleanCrm.Application.Fleet;

/// <summary>Queues fleet migrations and reads their progress (implemented over the job system).</summary>
public interface IFleetMigrations
{
    Task<string> StartAsync(int? parallelism, CancellationToken cancellationToken);

    Task<FleetMigrationStatusDto?> GetAsync(string jobId, CancellationToken cancellationToken);
}
