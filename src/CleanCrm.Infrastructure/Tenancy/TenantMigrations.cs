using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Runs tenant migrations as the server's admin (migrator) role, never as the tenant role.</summary>
public static class TenantMigrations
{
    public const string HistoryTable = "__ef_migrations_history";

    /// <summary>The id of the newest tenant migration in this build: the schema version every tenant should reach.</summary>
    public static string LatestVersion { get; } = ComputeLatest();

    public static TenantDbContext CreateMigrationContext(string adminConnectionString) =>
        new(new DbContextOptionsBuilder<TenantDbContext>()
            .UseNpgsql(adminConnectionString, npgsql => npgsql.MigrationsHistoryTable(HistoryTable))
            .UseSnakeCaseNamingConvention()
            .Options);

    /// <summary>Applies pending migrations and returns the version the database is at afterwards.</summary>
    public static async Task<string> MigrateAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        await using var db = CreateMigrationContext(adminConnectionString);
        await db.Database.MigrateAsync(cancellationToken);
        var applied = await db.Database.GetAppliedMigrationsAsync(cancellationToken);
        return applied.LastOrDefault() ?? string.Empty;
    }

    public static async Task<string?> CurrentVersionAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        await using var db = CreateMigrationContext(adminConnectionString);
        var applied = await db.Database.GetAppliedMigrationsAsync(cancellationToken);
        return applied.LastOrDefault();
    }

    private static string ComputeLatest()
    {
        using var db = CreateMigrationContext("Host=localhost");
        return db.GetService<IMigrationsAssembly>().Migrations.Keys.Order(StringComparer.Ordinal).LastOrDefault() ?? string.Empty;
    }
}
