using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>The database layer of isolation: own role, revoked CONNECT, password only in the secret store.</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantDatabaseSecurityTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_tenant_role_reaches_its_own_database_but_not_another_tenants_or_the_catalog()
    {
        var orgA = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var orgB = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var password = await platform.Services.GetRequiredService<ISecretStore>().GetAsync(SecretName.ForTenantDatabase(orgA.Id));
        password.ShouldNotBeNullOrEmpty();

        string As(string database) => new NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
        {
            Username = orgA.DatabaseRole,
            Password = password,
            Database = database,
            Pooling = false,
        }.ConnectionString;

        await using (var own = new NpgsqlConnection(As(orgA.DatabaseName)))
        {
            await own.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO companies (id, name, custom_fields, created_at, updated_at) VALUES " +
                "(gen_random_uuid(), 'Mine', '{}', now(), now())", own);
            (await insert.ExecuteNonQueryAsync()).ShouldBe(1);
        }

        foreach (var forbidden in new[] { orgB.DatabaseName, platform.CatalogDatabase, platform.TemplateDatabase, "postgres", "template1" })
        {
            await using var connection = new NpgsqlConnection(As(forbidden));
            var refused = await Should.ThrowAsync<PostgresException>(() => connection.OpenAsync());
            refused.SqlState.ShouldBe(PostgresErrorCodes.InsufficientPrivilege, forbidden);
        }
    }

    [Fact]
    public async Task A_tenant_role_has_data_privileges_only_and_cannot_change_the_schema()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var password = await platform.Services.GetRequiredService<ISecretStore>().GetAsync(SecretName.ForTenantDatabase(organization.Id));
        var connectionString = new NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
        {
            Username = organization.DatabaseRole,
            Password = password,
            Database = organization.DatabaseName,
            Pooling = false,
        }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var ddl in new[] { "DROP TABLE companies", "CREATE TABLE stolen (id int)", "ALTER TABLE contacts ADD COLUMN x int",
            "DELETE FROM __ef_migrations_history" })
        {
            await using var command = new NpgsqlCommand(ddl, connection);
            var refused = await Should.ThrowAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            refused.SqlState.ShouldBeOneOf(PostgresErrorCodes.InsufficientPrivilege, "42501");
        }
    }

    [Fact]
    public async Task Connect_is_revoked_from_public_on_tenant_template_catalog_and_maintenance_databases()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        foreach (var database in new[] { organization.DatabaseName, platform.TemplateDatabase, platform.CatalogDatabase, "postgres",
            "template1" })
        {
            var publicCanConnect = await TestDatabaseServers.ScalarAsync<bool>(
                TestDatabaseServers.Primary,
                "postgres",
                "SELECT has_database_privilege('public', $1, 'CONNECT')",
                database);
            publicCanConnect.ShouldBeFalse(database);
        }
    }

    [Fact]
    public async Task The_role_password_is_only_in_the_secret_store_encrypted_at_rest()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var password = await platform.Services.GetRequiredService<ISecretStore>().GetAsync(SecretName.ForTenantDatabase(organization.Id));
        password!.Length.ShouldBeGreaterThanOrEqualTo(43);

        var stored = await TestDatabaseServers.ScalarAsync<string>(
            TestDatabaseServers.Primary, platform.CatalogDatabase, "SELECT protected_value FROM secrets WHERE name = $1",
            SecretName.ForTenantDatabase(organization.Id));
        stored.ShouldNotBeNullOrEmpty();
        stored.ShouldNotContain(password);
        var anywhere = await TestDatabaseServers.ScalarAsync<long>(
            TestDatabaseServers.Primary,
            platform.CatalogDatabase,
            "SELECT count(*) FROM organizations o WHERE o::text LIKE '%' || $1 || '%'",
            password);
        anywhere.ShouldBe(0);

        // The server keeps only a SCRAM verifier, never the password itself (16 iterations for a 256-bit random password:
        // docs/adr/0016-cheap-tenant-sessions.md).
        var verifier = await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", organization.DatabaseRole);
        verifier.ShouldStartWith($"SCRAM-SHA-256${ScramVerifier.Iterations}:");
    }

    [Fact]
    public async Task No_connection_stays_open_on_the_template_so_clones_never_fail()
    {
        await platform.CreateOrganizationAsync();
        var connected = await TestDatabaseServers.ScalarAsync<long>(
            TestDatabaseServers.Primary, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", platform.TemplateDatabase);
        connected.ShouldBe(0);
    }

    [Fact]
    public async Task New_tenants_are_placed_on_the_least_filled_active_server()
    {
        var secondary = platform.SecondaryServer;

        // Each new org must land on the active server with the lowest fill ratio at that moment (name breaks ties).
        // Other tests create orgs too, so the expectation is computed from the catalog before every placement.
        var placed = new List<Organization>();
        for (var i = 0; i < 6; i++)
        {
            Guid expected;
            await using (var db = await platform.CatalogAsync())
            {
                var fill = await db.DatabaseServers.AsNoTracking().Where(s => s.Status == DatabaseServerStatus.Active)
                    .Select(s => new
                    {
                        s.Id,
                        s.Name,
                        s.Capacity,
                        Tenants = db.Organizations.Count(o => o.DatabaseServerId == s.Id && o.Status != OrganizationStatus.Deleted)
                    })
                    .ToListAsync();
                expected = fill.Where(f => f.Tenants < f.Capacity).OrderBy(f => (double)f.Tenants / f.Capacity)
                    .ThenBy(f => f.Name, StringComparer.Ordinal).First().Id;
            }

            var organization = await platform.CreateOrganizationAsync();
            organization.DatabaseServerId.ShouldBe(expected, $"placement {i}");
            placed.Add(organization);
        }

        foreach (var organization in placed)
        {
            var server = organization.DatabaseServerId == secondary.Id ? TestDatabaseServers.Secondary : TestDatabaseServers.Primary;
            (await TestDatabaseServers.ScalarAsync<long>(server, "postgres", "SELECT count(*) FROM pg_database WHERE datname = $1",
                organization.DatabaseName)).ShouldBe(1);
        }
    }

    [Fact]
    public async Task Provisioning_again_is_idempotent_and_keeps_one_database_role_and_secret()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var onboarding = platform.Services.GetRequiredService<CleanCrm.Infrastructure.Provisioning.TenantOnboarding>();
        var outcome = await onboarding.ProvisionAsync(organization.Id, CancellationToken.None);
        outcome.ShouldBe(ProvisioningStatus.Succeeded);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", organization.DatabaseName)).ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = $1", organization.DatabaseRole)).ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM secrets WHERE name = $1", SecretName.ForTenantDatabase(organization.Id))).ShouldBe(1);
    }

    [Fact]
    public async Task New_tenants_are_cloned_from_the_template_at_the_latest_schema_version()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        organization.Status.ShouldBe(OrganizationStatus.Active);
        organization.SchemaVersion.ShouldBe(CleanCrm.Infrastructure.Tenancy.TenantMigrations.LatestVersion);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM __ef_migrations_history")).ShouldBeGreaterThan(0);
    }
}
