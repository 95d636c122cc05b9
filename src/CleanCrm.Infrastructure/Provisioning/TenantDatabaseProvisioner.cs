using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>How a tenant database came to be.</summary>
public enum TenantDatabaseOrigin
{
    AlreadyExisted,
    ClonedFromTemplate,
    CreatedEmpty,
}

/// <summary>
/// Creates and removes a tenant's PostgreSQL role, secret and database. Every operation is idempotent, so a run that
/// crashed half-way is finished by running it again.
/// </summary>
public sealed partial class TenantDatabaseProvisioner(
    DatabaseServerAdmin admin,
    ISecretStore secrets,
    IOptions<TenancyOptions> options,
    ILogger<TenantDatabaseProvisioner> logger)
{
    private const string MaintenanceDatabase = "postgres";
    private static readonly Lazy<bool> PendingModelChanges = new(TenantMigrations.HasPendingModelChanges);

    /// <summary>Creates the tenant's password (once) in the secret store and its login role with that password.</summary>
    public Task EnsureRoleAsync(DatabaseServer server, Guid organizationId, CancellationToken cancellationToken) =>
        EnsureRoleAsync(server, Organization.DatabaseRoleFor(organizationId), SecretName.ForTenantDatabase(organizationId),
            cancellationToken);

    /// <summary>The same for any role and secret name (a warm-pool entry's own role).</summary>
    internal async Task EnsureRoleAsync(DatabaseServer server, string role, string secretName, CancellationToken cancellationToken)
    {
        var password = await secrets.GetAsync(secretName, cancellationToken);
        if (password is null)
        {
            password = ScramVerifier.NewPassword();
            await secrets.SetAsync(secretName, password, cancellationToken);
        }

        await using var connection =
            new NpgsqlConnection(await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken));
        await connection.OpenAsync(cancellationToken);
        if (!await RoleExistsAsync(connection, role, cancellationToken))
        {
            await ExecuteIgnoringAsync(connection, $"CREATE ROLE {Quote(role)} LOGIN", PostgresErrorCodes.DuplicateObject,
                cancellationToken);
        }

        var limit = options.Value.TenantRoleConnectionLimit;
        await ExecuteAsync(
            connection,
            $"ALTER ROLE {Quote(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT {limit} " +
                $"PASSWORD '{ScramVerifier.Create(password)}'",
            cancellationToken);
    }

    /// <summary>Creates the database by cloning the template when it is current, else empty (the caller migrates it).</summary>
    public Task<TenantDatabaseOrigin> EnsureDatabaseAsync(DatabaseServer server, Guid organizationId,
        CancellationToken cancellationToken) =>
        EnsureDatabaseAsync(server, Organization.DatabaseNameFor(organizationId), cancellationToken);

    /// <summary>The same for any database name (a warm-pool entry).</summary>
    internal async Task<TenantDatabaseOrigin> EnsureDatabaseAsync(DatabaseServer server, string database,
        CancellationToken cancellationToken)
    {
        var template = options.Value.TemplateDatabase;
        await using var connection =
            new NpgsqlConnection(await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken));
        await connection.OpenAsync(cancellationToken);
        if (await DatabaseExistsAsync(connection, database, cancellationToken))
        {
            return TenantDatabaseOrigin.AlreadyExisted;
        }

        var useTemplate = await DatabaseExistsAsync(connection, template, cancellationToken)
                          && await TenantMigrations.CurrentVersionAsync(await admin.ConnectionStringAsync(
                              server, template, cancellationToken), cancellationToken) == TenantMigrations.LatestVersion;
        var sql = useTemplate ? $"CREATE DATABASE {Quote(database)} TEMPLATE {Quote(template)}" : $"CREATE DATABASE {Quote(database)}";
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync(connection, sql, cancellationToken);
                break;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                return TenantDatabaseOrigin.AlreadyExisted;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 10)
            {
                // Someone (a migrator) is connected to the template for a moment; cloning needs it to ourselves.
                LogTemplateBusy(logger, template, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken);
            }
        }

        await ExecuteAsync(connection, $"REVOKE ALL ON DATABASE {Quote(database)} FROM PUBLIC", cancellationToken);
        return useTemplate ? TenantDatabaseOrigin.ClonedFromTemplate : TenantDatabaseOrigin.CreatedEmpty;
    }

    /// <summary>Applies migrations newer than the database (all of them for an empty one) as the migrator; returns the version.</summary>
    public async Task<string> MigrateAsync(DatabaseServer server, Guid organizationId, CancellationToken cancellationToken) =>
        await TenantMigrations.MigrateAsync(
            await admin.ConnectionStringAsync(server, Organization.DatabaseNameFor(organizationId), cancellationToken), cancellationToken);

    /// <summary>
    /// <see cref="MigrateAsync"/> and <see cref="GrantAsync(DatabaseServer, Guid, CancellationToken)"/> on one connection, with
    /// EF's model check done once per process (it costs tens of milliseconds, and the model cannot change in a process).
    /// </summary>
    public async Task<string> MigrateAndGrantAsync(DatabaseServer server, Guid organizationId, CancellationToken cancellationToken)
    {
        EnsureModelIsMigratable();
        return await MigrateAndGrantAsync(await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken),
            organizationId, cancellationToken);
    }

    /// <summary>Throws when the tenant model has changes no migration captures (EF would refuse to migrate).</summary>
    internal static void EnsureModelIsMigratable()
    {
        if (PendingModelChanges.Value)
        {
            throw new InvalidOperationException("The tenant model has changes that no tenant migration captures; add a migration.");
        }
    }

    /// <summary>Lets the tenant role connect to its own database only, with data (not schema) privileges.</summary>
    public async Task GrantAsync(DatabaseServer server, Guid organizationId, CancellationToken cancellationToken) =>
        await GrantAsync(server, organizationId, Organization.DatabaseNameFor(organizationId), cancellationToken);

    /// <summary>The same grants on another database of the organization (a restored copy about to replace its own).</summary>
    public async Task GrantAsync(DatabaseServer server, Guid organizationId, string databaseName, CancellationToken cancellationToken)
    {
        await using var tenant = new NpgsqlConnection(await admin.ConnectionStringAsync(server, databaseName, cancellationToken));
        await tenant.OpenAsync(cancellationToken);
        await GrantAsync(tenant, Organization.DatabaseRoleFor(organizationId), databaseName, cancellationToken);
    }

    /// <summary>
    /// <see cref="MigrateAsync"/> then <see cref="GrantAsync(DatabaseServer, Guid, CancellationToken)"/> on one admin
    /// connection (the fleet migrator's path); <paramref name="serverAdminConnectionString"/> is the server's admin
    /// connection string for any database. The caller has checked <see cref="TenantMigrations.HasPendingModelChanges"/>.
    /// </summary>
    public static Task<string> MigrateAndGrantAsync(string serverAdminConnectionString, Guid organizationId,
        CancellationToken cancellationToken) =>
        MigrateAndGrantAsync(serverAdminConnectionString, Organization.DatabaseNameFor(organizationId),
            Organization.DatabaseRoleFor(organizationId), cancellationToken);

    /// <summary>The same for any database and role (a warm-pool entry, whose role carries its own name until a claim).</summary>
    internal static async Task<string> MigrateAndGrantAsync(string serverAdminConnectionString, string database, string role,
        CancellationToken cancellationToken)
    {
        var builder = new NpgsqlDataSourceBuilder(serverAdminConnectionString);
        builder.ConnectionStringBuilder.Database = database;

        // Migrations and grants read nothing but built-in types, and each tenant database is a new data source to
        // Npgsql, whose type-loading query would otherwise cost ~25 ms of server CPU per tenant.
        builder.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
        await using var dataSource = builder.Build();
        await using var tenant = await dataSource.OpenConnectionAsync(cancellationToken);
        var version = await TenantMigrations.MigrateAsync(tenant, modelCheckedByCaller: true, cancellationToken);
        await GrantAsync(tenant, role, database, cancellationToken);
        return version;
    }

    // Idempotent. Run in the tenant database; the database-level grant works from any database of the server. TEMPORARY
    // (session-private temp tables, only in its own database) is for the CSV import's staging table.
    private static async Task GrantAsync(NpgsqlConnection tenant, string roleName, string databaseName,
        CancellationToken cancellationToken)
    {
        var database = Quote(databaseName);
        var role = Quote(roleName);
        await ExecuteAsync(
            tenant,
            $"""
             REVOKE ALL ON DATABASE {database} FROM PUBLIC;
             GRANT CONNECT ON DATABASE {database} TO {role};
             GRANT TEMPORARY ON DATABASE {database} TO {role};
             REVOKE ALL ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA public TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
             REVOKE INSERT, UPDATE, DELETE ON TABLE public.{Quote(TenantMigrations.HistoryTable)} FROM {role};
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role};
             """,
            cancellationToken);
    }

    /// <summary>Drops the database (disconnecting anyone), the role and the secret. Idempotent.</summary>
    public Task DropAsync(DatabaseServer server, Guid organizationId, CancellationToken cancellationToken) =>
        DropAsync(server, Organization.DatabaseNameFor(organizationId), Organization.DatabaseRoleFor(organizationId),
            SecretName.ForTenantDatabase(organizationId), cancellationToken);

    /// <summary>The same for any database, role and secret name (a discarded warm-pool entry).</summary>
    internal async Task DropAsync(DatabaseServer server, string databaseName, string roleName, string secretName,
        CancellationToken cancellationToken)
    {
        var database = Quote(databaseName);
        var role = Quote(roleName);
        await using (var connection = new NpgsqlConnection(
            await admin.ConnectionStringAsync(server, MaintenanceDatabase, cancellationToken)))
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)", cancellationToken);
            await ExecuteAsync(connection, $"DROP ROLE IF EXISTS {role}", cancellationToken);
        }

        await secrets.DeleteAsync(secretName, cancellationToken);
    }

    internal static async Task<bool> RoleExistsAsync(NpgsqlConnection connection, string role, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM pg_roles WHERE rolname = $1", connection);
        command.Parameters.AddWithValue(role);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    internal static async Task<bool> DatabaseExistsAsync(NpgsqlConnection connection, string database, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        command.Parameters.AddWithValue(database);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteIgnoringAsync(NpgsqlConnection connection, string sql, string ignoredSqlState,
        CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(connection, sql, cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == ignoredSqlState)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Template database {Template} is in use; clone attempt {Attempt} will be retried")]
    private static partial void LogTemplateBusy(ILogger logger, string template, int attempt);
}
