using Hangfire;
using Hangfire.PostgreSql;

namespace CleanCrm.Infrastructure.Jobs;

/// <summary>Hangfire keeps its queues in the catalog database (schema <c>hangfire</c>), shared by API and worker.</summary>
public static class HangfireStorage
{
    public const string ProvisioningQueue = "provisioning";
    public const string DefaultQueue = "default";
    public const string MaintenanceQueue = "maintenance";

    public static IGlobalConfiguration UseCatalogStorage(this IGlobalConfiguration configuration, string catalogConnectionString,
        TimeSpan? queuePollInterval = null)
    {
        // Every process that enqueues or performs jobs carries the trace context across (docs/OBSERVABILITY.md "Traces").
        Observability.Telemetry.UseCleanCrmTraceContext();
        return configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UsePostgreSqlStorage(
                storage => storage.UseNpgsqlConnection(catalogConnectionString),
                new PostgreSqlStorageOptions
                {
                    SchemaName = "hangfire",
                    PrepareSchemaIfNecessary = true,
                    QueuePollInterval = queuePollInterval ?? TimeSpan.FromSeconds(1),
                    InvisibilityTimeout = TimeSpan.FromMinutes(5)
                });
    }
}
