using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>Tenant contexts are pooled across requests and tenants; a pooled instance must never serve two scopes at once.</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantDbContextPoolingTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_scope_disposes_its_context_once_even_though_di_holds_it_under_two_registrations()
    {
        await using var services = PlatformEnvironment.BuildServices(platform.Settings);
        var organization = await platform.CreateOrganizationAsync();
        var scopes = services.GetRequiredService<ITenantScopeFactory>();
        var pool = services.GetRequiredService<TenantConnectionPool>();

        await using (await scopes.BeginAsync(organization.Id))
        {
            TenantDbContext first;
            await using (var serviceScope = services.CreateAsyncScope())
            {
                first = serviceScope.ServiceProvider.GetRequiredService<TenantDbContext>();
                serviceScope.ServiceProvider.GetRequiredService<ITenantDbContext>().ShouldBeSameAs(first);
                (await first.Companies.CountAsync()).ShouldBe(0);

                // Left open on purpose, as code that pins a connection does: returning to the pool must close it.
                await first.Database.OpenConnectionAsync();
                await first.Database.BeginTransactionAsync();
                await first.Database.ExecuteSqlRawAsync(
                    "INSERT INTO tags (id, name, created_at, updated_at) VALUES (gen_random_uuid(), 'never committed', now(), now())");
                pool.InUse.ShouldBe(1);
            }

            pool.InUse.ShouldBe(0);

            // Had the two disposals above both returned the instance to the pool, the next two leases would share it.
            await using var a = services.CreateAsyncScope();
            await using var b = services.CreateAsyncScope();
            var contextA = a.ServiceProvider.GetRequiredService<TenantDbContext>();
            var contextB = b.ServiceProvider.GetRequiredService<TenantDbContext>();
            contextB.ShouldNotBeSameAs(contextA);
            new[] { contextA, contextB }.ShouldContain(first, "the returned context is reused from the pool");
            (await contextA.Tags.CountAsync()).ShouldBe(0, "the abandoned transaction was rolled back");
            (await contextB.Companies.CountAsync()).ShouldBe(0);
        }

        pool.InUse.ShouldBe(0);
    }

    [Fact]
    public async Task A_pooled_context_reused_for_another_tenant_talks_to_that_tenants_database_only()
    {
        await using var services = PlatformEnvironment.BuildServices(platform.Settings);
        var first = await platform.CreateOrganizationAsync();
        var second = await platform.CreateOrganizationAsync();
        var scopes = services.GetRequiredService<ITenantScopeFactory>();

        TenantDbContext used;
        await using (await scopes.BeginAsync(first.Id))
        await using (var serviceScope = services.CreateAsyncScope())
        {
            used = serviceScope.ServiceProvider.GetRequiredService<TenantDbContext>();
            used.Companies.Add(new CleanCrm.Domain.Tenant.Company { Id = Guid.NewGuid(), Name = "First only" });
            await used.SaveChangesAsync();
            (await CurrentDatabaseAsync(used)).ShouldBe(first.DatabaseName);
        }

        await using (await scopes.BeginAsync(second.Id))
        await using (var serviceScope = services.CreateAsyncScope())
        {
            var reused = serviceScope.ServiceProvider.GetRequiredService<TenantDbContext>();
            reused.ShouldBeSameAs(used);
            reused.ChangeTracker.Entries().ShouldBeEmpty();
            (await CurrentDatabaseAsync(reused)).ShouldBe(second.DatabaseName);
            (await reused.Companies.AnyAsync(c => c.Name == "First only")).ShouldBeFalse();
        }
    }

    [Fact]
    public async Task Concurrent_requests_over_many_tenants_never_share_a_context()
    {
        await using var services = PlatformEnvironment.BuildServices(platform.Settings);
        var organizations = new[] { await platform.CreateOrganizationAsync(), await platform.CreateOrganizationAsync() };
        var scopes = services.GetRequiredService<ITenantScopeFactory>();
        var inUse = new System.Collections.Concurrent.ConcurrentDictionary<TenantDbContext, int>(ReferenceEqualityComparer.Instance);
        var collisions = 0;

        await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var organization = organizations[i % organizations.Length];
            await using var scope = await scopes.BeginAsync(organization.Id);
            await using var serviceScope = services.CreateAsyncScope();
            var db = serviceScope.ServiceProvider.GetRequiredService<ITenantDbContext>();
            var context = (TenantDbContext)db;
            if (!inUse.TryAdd(context, i))
            {
                Interlocked.Increment(ref collisions);
            }

            try
            {
                (await CurrentDatabaseAsync(context)).ShouldBe(organization.DatabaseName);
            }
            finally
            {
                inUse.TryRemove(context, out _);
            }
        }));

        collisions.ShouldBe(0);
        services.GetRequiredService<TenantConnectionPool>().InUse.ShouldBe(0);
    }

    private static async Task<string> CurrentDatabaseAsync(TenantDbContext context) =>
        await context.Database.SqlQueryRaw<string>("SELECT current_database() AS \"Value\"").SingleAsync();
}
