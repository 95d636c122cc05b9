using System.Net;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>The process-wide cap on physical tenant connections, measured on the server (pg_stat_activity).</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantConnectionBudgetTests(SharedPlatform platform)
{
    [Fact]
    public async Task Many_tenants_under_load_never_hold_more_physical_connections_than_the_cap()
    {
        const int cap = 3;
        // Direct connections always: through PgBouncer (CLEANCRM_PGBOUNCER=1) the cap counts client connections and
        // PgBouncer's pools bound the server's backends (docs/OPERATIONS.md, "Sizing tenant connections").
        var direct = platform.Settings.Where(setting => !setting.Key.StartsWith("CleanCrm:Tenancy:PgBouncer", StringComparison.Ordinal));
        await using var services = PlatformEnvironment.BuildServices(new Dictionary<string, string?>(direct)
        {
            ["CleanCrm:Tenancy:MaxOpenTenantConnections"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CleanCrm:Tenancy:PerTenantMaxPoolSize"] = "2",
            ["CleanCrm:Tenancy:ConnectionAcquireTimeoutMs"] = "30000",
        });
        var organizations = new List<Organization>();
        for (var i = 0; i < 8; i++)
        {
            organizations.Add(await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id));
        }

        var roles = organizations.Select(o => o.DatabaseRole).ToArray();
        var pool = services.GetRequiredService<TenantConnectionPool>();
        var scopes = services.GetRequiredService<ITenantScopeFactory>();
        using var sampling = new CancellationTokenSource();
        var maxObserved = 0L;
        var maxReserved = 0;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var count = await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1)", (object)roles);
                maxObserved = Math.Max(maxObserved, count);
                maxReserved = Math.Max(maxReserved, pool.Reserved);
                await Task.Delay(10);
            }
        });

        var jobs = Enumerable.Range(0, 64).Select(async i =>
        {
            var organization = organizations[i % organizations.Count];
            await using var scope = await scopes.BeginAsync(organization.Id);
            await using var serviceScope = services.CreateAsyncScope();
            var db = serviceScope.ServiceProvider.GetRequiredService<TenantDbContext>();
            await db.Database.ExecuteSqlRawAsync("SELECT pg_sleep(0.03)");
            return await db.Companies.CountAsync();
        });
        var results = await Task.WhenAll(jobs);
        await sampling.CancelAsync();
        await sampler;

        results.Length.ShouldBe(64);
        maxObserved.ShouldBeGreaterThan(0);
        maxReserved.ShouldBeLessThanOrEqualTo(cap);

        // The process side is exact (above). On the server, a backend whose connection was just closed to make room
        // can still be listed for a few milliseconds while it exits, so one extra row is tolerated; the 8 tenants'
        // pools alone would reach 16 without the cap.
        maxObserved.ShouldBeLessThanOrEqualTo(cap + 1);
        pool.InUse.ShouldBe(0);
    }

    [Fact]
    public async Task When_every_slot_stays_busy_the_api_answers_503_with_retry_after()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        using var api = new ApiFactory(platform, new Dictionary<string, string?>
        {
            ["CleanCrm:Tenancy:MaxOpenTenantConnections"] = "1",
            ["CleanCrm:Tenancy:PerTenantMaxPoolSize"] = "1",
            ["CleanCrm:Tenancy:ConnectionAcquireTimeoutMs"] = "300",
        });
        var client = api.ClientFor(owner.Id, organization.Slug);
        (await client.GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var pool = api.Services.GetRequiredService<TenantConnectionPool>();
        var directory = api.Services.GetRequiredService<TenantDirectory>();
        using var lease =
            await pool.PinAsync((await directory.FindAsync(organization.Id, CancellationToken.None))!, CancellationToken.None);
        await using (var held = await lease.OpenConnectionAsync(CancellationToken.None))
        {
            var response = await client.GetAsync("/api/v1/companies");
            response.Headers.RetryAfter.ShouldNotBeNull();
            var problem = await Problem.ReadAsync(response, HttpStatusCode.ServiceUnavailable);
            problem.Type.ShouldEndWith("/tenant_connections_exhausted");
        }

        (await client.GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task When_the_server_refuses_a_new_session_the_api_answers_503_with_retry_after_not_500()
    {
        var owner = await platform.CreateUserAsync();
        var organization =
            await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        // A fresh process has no pooled connection, so the first request opens a new session, which the server refuses:
        // the same SQLSTATE (53300) as a server at max_connections.
        using var api = new ApiFactory(platform, new Dictionary<string, string?>());
        var client = api.ClientFor(owner.Id, organization.Slug);
        var limit = await TestDatabaseServers.ScalarAsync<int>(TestDatabaseServers.Primary, "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", organization.DatabaseRole);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"ALTER ROLE \"{organization.DatabaseRole}\" CONNECTION LIMIT 0");
        try
        {
            var response = await client.GetAsync("/api/v1/companies");
            var problem = await Problem.ReadAsync(response, HttpStatusCode.ServiceUnavailable);
            problem.Type.ShouldEndWith("/tenant_connections_exhausted");
            response.Headers.RetryAfter.ShouldNotBeNull();
        }
        finally
        {
            await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
                $"ALTER ROLE \"{organization.DatabaseRole}\" CONNECTION LIMIT {limit}");
        }

        (await client.GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task By_default_the_cap_is_derived_from_the_servers_connection_budget_on_first_use()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await using var services = PlatformEnvironment.BuildServices(new Dictionary<string, string?>(platform.Settings)
        {
            ["CleanCrm:Tenancy:MaxOpenTenantConnections"] = "0",
            ["CleanCrm:Tenancy:ReservedServerConnections"] = "10",
            ["CleanCrm:Tenancy:Processes"] = "3",
        });
        var pool = services.GetRequiredService<TenantConnectionPool>();
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CleanCrm.Infrastructure.Options.TenancyOptions>>();
        pool.Cap.ShouldBe(options.Value.PerTenantMaxPoolSize);

        var scopes = services.GetRequiredService<ITenantScopeFactory>();
        await using (var scope = await scopes.BeginAsync(organization.Id))
        {
            await using var serviceScope = services.CreateAsyncScope();
            (await serviceScope.ServiceProvider.GetRequiredService<TenantDbContext>().Companies.CountAsync()).ShouldBe(0);
        }

        var available = await TestDatabaseServers.ScalarAsync<int>(TestDatabaseServers.Primary, "postgres",
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int");
        pool.Cap.ShouldBe((available - 10) / 3);
    }

    [Fact]
    public async Task With_pgbouncer_endpoints_tenant_connections_go_to_the_endpoint_of_their_server()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var server = platform.PrimaryServer;
        await using var services = PlatformEnvironment.BuildServices(new Dictionary<string, string?>(platform.Settings)
        {
            ["CleanCrm:Tenancy:PgBouncer"] = "true",
            ["CleanCrm:Tenancy:PgBouncerEndpoints:0:Server"] = $"{server.Host}:{server.Port}",
            // Nothing listens on port 1: the open fails at once, naming where it tried to connect.
            ["CleanCrm:Tenancy:PgBouncerEndpoints:0:Endpoint"] = "127.0.0.1:1",
        });
        var pool = services.GetRequiredService<TenantConnectionPool>();
        var location = await services.GetRequiredService<TenantDirectory>().FindAsync(organization.Id, CancellationToken.None);
        using var lease = await pool.PinAsync(location!, CancellationToken.None);

        var failure = await Should.ThrowAsync<Npgsql.NpgsqlException>(async () => await lease.OpenConnectionAsync(CancellationToken.None));

        failure.Message.ShouldContain("127.0.0.1:1");
        pool.InUse.ShouldBe(0);
    }
}
