using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CleanCrm.Infrastructure.Persistence.Catalog;

/// <summary>
/// Readiness of the API and the console: the catalog answers and is migrated; never loops over tenants (that would not
/// scale).
/// </summary>
public sealed class CatalogHealthCheck(IDbContextFactory<CatalogDbContext> catalog) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await catalog.CreateDbContextAsync(cancellationToken);
            var pending = await db.Database.GetPendingMigrationsAsync(cancellationToken);
            return pending.Any()
                ? HealthCheckResult.Unhealthy("The catalog database has pending migrations; run the migrator.")
                : HealthCheckResult.Healthy("Catalog reachable and migrated.");
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("The catalog database is unreachable.", exception);
        }
    }
}
