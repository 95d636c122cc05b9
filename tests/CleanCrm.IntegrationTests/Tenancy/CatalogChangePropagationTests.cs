using System.Diagnostics;
using System.Net;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>Two API instances with long catalog caches: a change in the catalog reaches both through LISTEN/NOTIFY.</summary>
[Collection(PlatformCollection.Name)]
public sealed class CatalogChangePropagationTests(SharedPlatform platform)
{
    [Fact]
    public async Task Suspending_an_org_or_removing_a_member_takes_effect_on_every_instance_within_seconds()
    {
        var owner = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (member, OrgRole.Member)]);
        var longCache = new Dictionary<string, string?> { ["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "600" };
        using var first = new ApiFactory(platform, longCache);
        using var second = new ApiFactory(platform, longCache);
        var instances = new[] { first, second };
        foreach (var api in instances)
        {
            (await api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await api.ClientFor(member.Id, organization.Slug).GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await WaitUntilAsync(() => Task.FromResult(api.Services.GetRequiredService<CatalogChangeListener>().IsListening));
        }

        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DELETE FROM memberships WHERE user_id = '{member.Id}'",
            platform.CatalogDatabase);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE organizations SET status = 'suspended' WHERE id = '{organization.Id}'", platform.CatalogDatabase);

        foreach (var api in instances)
        {
            var elapsed = await WaitUntilAsync(async () =>
                (await api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/companies")).StatusCode == HttpStatusCode.Forbidden);
            elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
            await WaitUntilAsync(async () =>
                (await api.ClientFor(member.Id, organization.Slug).GetAsync("/api/v1/companies")).StatusCode == HttpStatusCode.NotFound);
        }
    }

    private static async Task<TimeSpan> WaitUntilAsync(Func<Task<bool>> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the change did not propagate");
            await Task.Delay(50);
        }

        return watch.Elapsed;
    }
}
