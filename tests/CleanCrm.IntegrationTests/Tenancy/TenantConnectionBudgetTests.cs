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
        await using var services = PlatformEnvironment.BuildServices(new Dictionary<string, string?>(platform.Settings)
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
}
