namespace CleanCrm.Application.Fleet;

/// <summary>Queues fleet migrations and reads their progress (implemented over the job system).</summary>
public interface IFleetMigrations
{
    /// <summary>The last tenant migration of this build: the schema every organization is migrated to.</summary>
    string SchemaHead { get; }

    /// <summary>
    /// Queues a run over the whole fleet; <paramref name="safetyBackup"/> true/false takes (or skips) a backup of each
    /// tenant before migrating it, null follows <c>CleanCrm:Backups:BeforeMigration</c>.
    /// </summary>
    Task<string> StartAsync(int? parallelism, bool? safetyBackup, CancellationToken cancellationToken);

    /// <summary>Queues a run that migrates only this organization's database (no catalog or template step).</summary>
    Task<string> StartOrganizationAsync(Guid organizationId, bool? safetyBackup, CancellationToken cancellationToken);

    Task<FleetMigrationStatusDto?> GetAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>The most recent runs queued through this interface, newest first.</summary>
    Task<IReadOnlyList<FleetMigrationStatusDto>> ListRecentAsync(int limit, CancellationToken cancellationToken);
}
