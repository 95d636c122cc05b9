using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Brings the catalog and every server's template database to the current schema (worker/CLI; API only in Development).</summary>
public sealed partial class DatabaseMigrator(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    ISecretStore secrets,
    DatabaseServerAdmin admin,
    IOptions<TenancyOptions> options,
    IdentityBootstrap identity,
    TimeProvider clock,
    ILogger<DatabaseMigrator> logger)
{
    public async Task MigrateCatalogAsync(CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        await EnsureCatalogDatabaseAsync(db.Database.GetConnectionString()!, cancellationToken);
        await db.Database.MigrateAsync(cancellationToken);

        // Tenant roles must not even reach the catalog (docs/MULTI_TENANCY.md, "Roles and privileges").
        var catalogName = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString()).Database;
        var revoke = "REVOKE CONNECT, TEMPORARY ON DATABASE " + TenantDatabaseProvisioner.Quote(catalogName!) + " FROM PUBLIC";
        await db.Database.ExecuteSqlRawAsync(revoke, cancellationToken);
        LogCatalogMigrated(logger, catalogName);
        await EnsureDefaultServerAsync(db, cancellationToken);
        await identity.EnsureAsync(cancellationToken);
    }

    // Created up front (when the credentials allow it) so EF's migrator does not log a failed connection first.
    private static async Task EnsureCatalogDatabaseAsync(string catalogConnectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(catalogConnectionString);
        var catalogName = builder.Database!;
        builder.Database = "postgres";
        builder.Pooling = false;
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            if (!await TenantDatabaseProvisioner.DatabaseExistsAsync(connection, catalogName, cancellationToken))
            {
                await TenantDatabaseProvisioner.ExecuteAsync(connection, $"CREATE DATABASE {TenantDatabaseProvisioner.Quote(catalogName)}",
                    cancellationToken);
            }
        }
        catch (PostgresException exception) when (exception.SqlState is PostgresErrorCodes.InsufficientPrivilege
            or PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.InvalidCatalogName)
        {
            // No rights on the maintenance database: the catalog is expected to exist already.
        }
    }

    /// <summary>Creates (if missing) and migrates the template database on every active server.</summary>
    public async Task MigrateTemplatesAsync(CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var servers = await db.DatabaseServers.AsNoTracking().Where(s => s.Status == DatabaseServerStatus.Active)
            .ToListAsync(cancellationToken);
        foreach (var server in servers)
        {
            await MigrateTemplateAsync(server, cancellationToken);
        }
    }

    public async Task<string> MigrateTemplateAsync(DatabaseServer server, CancellationToken cancellationToken)
    {
        var template = options.Value.TemplateDatabase;
        await using (var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(server, "postgres", cancellationToken)))
        {
            await connection.OpenAsync(cancellationToken);
            if (!await TenantDatabaseProvisioner.DatabaseExistsAsync(connection, template, cancellationToken))
            {
                try
                {
                    await TenantDatabaseProvisioner.ExecuteAsync(connection, $"CREATE DATABASE {TenantDatabaseProvisioner.Quote(template)}",
                        cancellationToken);
                }
                catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.DuplicateDatabase)
                {
                    // Another migrator created it a moment ago.
                }
            }

            // Tenant roles get CONNECT on their own database only: not the template, not the maintenance databases.
            await TenantDatabaseProvisioner.ExecuteAsync(
                connection,
                $"REVOKE ALL ON DATABASE {TenantDatabaseProvisioner.Quote(template)} FROM PUBLIC; REVOKE CONNECT ON DATABASE postgres " +
                    $"FROM PUBLIC; REVOKE CONNECT ON DATABASE template1 FROM PUBLIC",
                cancellationToken);
        }

        var version =
            await TenantMigrations.MigrateAsync(await admin.ConnectionStringAsync(server, template, cancellationToken), cancellationToken);
        LogTemplateMigrated(logger, template, server.Name, version);
        return version;
    }

    /// <summary>Registers the configured default server once, moving its admin password into the secret store.</summary>
    private async Task EnsureDefaultServerAsync(CatalogDbContext db, CancellationToken cancellationToken)
    {
        if (options.Value.DefaultServer is not { Host: { } host, Username: { } username } configured)
        {
            return;
        }

        var server = await db.DatabaseServers.FirstOrDefaultAsync(s => s.Host == host && s.Port == configured.Port, cancellationToken);
        if (server is null)
        {
            var now = clock.GetUtcNow();
            server = new DatabaseServer
            {
                Name = configured.Name,
                Host = host,
                Port = configured.Port,
                AdminUsername = username,
                AdminSecretName = string.Empty,
                Capacity = configured.Capacity,
                CreatedAt = now,
                UpdatedAt = now,
            };
            server.AdminSecretName = SecretName.ForDatabaseServer(server.Id);
            db.DatabaseServers.Add(server);
        }

        if (configured.Password is { Length: > 0 } password)
        {
            await secrets.SetAsync(server.AdminSecretName, password, cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Catalog database {Catalog} migrated")]
    private static partial void LogCatalogMigrated(ILogger logger, string? catalog);

    [LoggerMessage(Level = LogLevel.Information, Message = "Template database {Template} on server {Server} is at {Version}")]
    private static partial void LogTemplateMigrated(ILogger logger, string template, string server, string version);
}
