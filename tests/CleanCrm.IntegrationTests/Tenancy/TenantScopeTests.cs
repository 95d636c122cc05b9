using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>The job path: tenant scopes opened explicitly, nested, and never leaking into each other.</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantScopeTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_job_scope_for_org_a_sees_only_org_a_rows_and_nested_scopes_restore_the_outer_one()
    {
        var orgA = await platform.CreateOrganizationAsync();
        var orgB = await platform.CreateOrganizationAsync();
        await SeedAsync(orgA.Id, "Alpha");
        await SeedAsync(orgB.Id, "Beta");

        var scopes = platform.Services.GetRequiredService<ITenantScopeFactory>();
        var context = platform.Services.GetRequiredService<ITenantContext>();
        context.Current.ShouldBeNull();
        await using (var outer = await scopes.BeginAsync(orgA.Id))
        {
            context.Current!.OrganizationId.ShouldBe(orgA.Id);
            (await NamesAsync()).ShouldBe(["Alpha"]);
            await using (await scopes.BeginAsync(orgB.Id))
            {
                context.Current!.OrganizationId.ShouldBe(orgB.Id);
                (await NamesAsync()).ShouldBe(["Beta"]);
            }

            context.Current!.OrganizationId.ShouldBe(orgA.Id);
            (await NamesAsync()).ShouldBe(["Alpha"]);
        }

        context.Current.ShouldBeNull();
    }

    [Fact]
    public async Task Parallel_jobs_for_different_orgs_each_keep_their_own_scope()
    {
        var organizations = new List<CleanCrm.Domain.Catalog.Organization>();
        for (var i = 0; i < 4; i++)
        {
            var organization = await platform.CreateOrganizationAsync();
            await SeedAsync(organization.Id, organization.Slug);
            organizations.Add(organization);
        }

        var scopes = platform.Services.GetRequiredService<ITenantScopeFactory>();
        var seen = await Task.WhenAll(organizations.Select(async organization =>
        {
            await using var scope = await scopes.BeginAsync(organization.Id);
            await Task.Yield();
            return (organization.Slug, Names: await NamesAsync());
        }));
        foreach (var (slug, names) in seen)
        {
            names.ShouldBe([slug]);
        }
    }

    [Fact]
    public async Task Tenant_data_outside_any_scope_is_refused()
    {
        await using var services = platform.Services.CreateAsyncScope();
        Should.Throw<TenantScopeRequiredException>(() => services.ServiceProvider.GetRequiredService<ITenantDbContext>());
    }

    [Fact]
    public async Task An_unknown_org_cannot_be_scoped()
    {
        var scopes = platform.Services.GetRequiredService<ITenantScopeFactory>();
        await Should.ThrowAsync<TenantNotFoundException>(async () =>
        {
            await using var scope = await scopes.BeginAsync(Guid.NewGuid());
        });
    }

    private async Task SeedAsync(Guid organizationId, string name)
    {
        var scopes = platform.Services.GetRequiredService<ITenantScopeFactory>();
        await using var scope = await scopes.BeginAsync(organizationId);
        await using var services = platform.Services.CreateAsyncScope();
        var db = services.ServiceProvider.GetRequiredService<ITenantDbContext>();
        db.Companies.Add(new Company { Name = name, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
    }

    private async Task<List<string>> NamesAsync()
    {
        await using var services = platform.Services.CreateAsyncScope();
        var db = services.ServiceProvider.GetRequiredService<ITenantDbContext>();
        return await db.Companies.Select(c => c.Name).OrderBy(n => n).ToListAsync();
    }
}
