using System.Data.Common;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Runs tenant migrations as the server's admin (migrator) role, never as the tenant role.</summary>
public static class TenantMigrations
{
    public const string HistoryTable = "__ef_migrations_history";

    /// <summary>The id of the newest tenant migration in this build: the schema version every tenant should reach.</summary>
    public static string LatestVersion { get; } = ComputeLatest();

    /// <summary>Every tenant migration id of this build, oldest first.</summary>
    public static IReadOnlyList<string> AllVersions { get; } = ComputeAll();

    public static TenantDbContext CreateMigrationContext(string adminConnectionString) =>
        new(new DbContextOptionsBuilder<TenantDbContext>()
            .UseNpgsql(adminConnectionString, npgsql => npgsql.MigrationsHistoryTable(HistoryTable))
            .UseSnakeCaseNamingConvention()
            .Options);

    /// <summary>
    /// On a connection the caller owns (open or not); disposing the context leaves it alone. With
    /// <paramref name="modelCheckedByCaller"/>, EF does not diff the model against the snapshot before migrating (a
    /// fleet run checks that once with <see cref="HasPendingModelChanges"/>, not once per tenant).
    /// </summary>
    public static TenantDbContext CreateMigrationContext(DbConnection adminConnection, bool modelCheckedByCaller = false)
    {
        var options = new DbContextOptionsBuilder<TenantDbContext>()
            .UseNpgsql(adminConnection, npgsql => npgsql.MigrationsHistoryTable(HistoryTable))
            .UseSnakeCaseNamingConvention();
        if (modelCheckedByCaller)
        {
            options.ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.PendingModelChangesWarning));
        }

        return new TenantDbContext(options.Options);
    }

    /// <summary>True when the tenant model has changes no migration captures (EF would refuse to migrate).</summary>
    public static bool HasPendingModelChanges()
    {
        using var db = CreateMigrationContext("Host=localhost");
        return db.Database.HasPendingModelChanges();
    }

    /// <summary>Applies pending migrations and returns the version the database is at afterwards.</summary>
    public static async Task<string> MigrateAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        // One physical connection for every step (EF would otherwise open one per step, each a new backend).
        await using var connection = new Npgsql.NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        return await MigrateAsync(connection, cancellationToken);
    }

    /// <summary>Applies pending migrations on an open admin connection and returns the version afterwards.</summary>
    public static async Task<string> MigrateAsync(DbConnection adminConnection, CancellationToken cancellationToken) =>
        await MigrateAsync(adminConnection, modelCheckedByCaller: false, cancellationToken);

    /// <inheritdoc cref="MigrateAsync(DbConnection, CancellationToken)"/>
    public static async Task<string> MigrateAsync(DbConnection adminConnection, bool modelCheckedByCaller,
        CancellationToken cancellationToken)
    {
        await using var db = CreateMigrationContext(adminConnection, modelCheckedByCaller);
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

    private static string[] ComputeAll()
    {
        using var db = CreateMigrationContext("Host=localhost");
        return [.. db.GetService<IMigrationsAssembly>().Migrations.Keys.Order(StringComparer.Ordinal)];
    }

    private static string ComputeLatest()
    {
        using var db = CreateMigrationContext("Host=localhost");
        return db.GetService<IMigrationsAssembly>().Migrations.Keys.Order(StringComparer.Ordinal).LastOrDefault() ?? string.Empty;
    }
}
