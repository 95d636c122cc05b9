using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Billing;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Billing;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.FeatureManagement;

namespace CleanCrm.IntegrationTests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class FeaturesAndLimitsTests(SharedPlatform platform)
{
    private Task<BillingHost> HostAsync() => platform.SharedAsync("billing-host", () => Task.FromResult(new BillingHost(platform)));

    [Fact]
    public async Task Features_list_every_premium_key_and_follow_the_admin_plan_change_with_limits()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);

        var features = await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features");
        features!.Keys.Order().ShouldBe(PremiumFeatures.All.Order());
        features.Values.ShouldAllBe(enabled => !enabled);
        var free = await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements");
        free.GetProperty("plan").GetString().ShouldBe("free");
        free.GetProperty("limits").GetProperty("seats").GetInt32().ShouldBe(1);
        free.GetProperty("limits").GetProperty("apiRequestsPer10Seconds").GetInt32().ShouldBe(100);
        free.GetProperty("usage").GetProperty("seats").GetInt32().ShouldBe(1);

        var changed = await host.Admin(admin.Id)
            .PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = "pro" });
        changed.StatusCode.ShouldBe(HttpStatusCode.OK, await changed.Content.ReadAsStringAsync());
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!.Values.ShouldAllBe(enabled => enabled);
        var pro = await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements");
        pro.GetProperty("plan").GetString().ShouldBe("pro");
        pro.GetProperty("limits").GetProperty("seats").GetInt32().ShouldBe(5);
        pro.GetProperty("limits").GetProperty("aiTokensPerMonth").GetInt64().ShouldBe(100_000);
        pro.GetProperty("limits").GetProperty("backupRetentionDays").GetInt32().ShouldBe(30);

        await host.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = "enterprise" });
        var enterprise = await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements");
        enterprise.GetProperty("limits").GetProperty("seats").ValueKind.ShouldBe(JsonValueKind.Null);
        enterprise.GetProperty("limits").GetProperty("apiRequestsPer10Seconds").GetInt32().ShouldBe(250);

        var bad = await Problem.ReadAsync(await host.Admin(admin.Id)
            .PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = "gold" }), HttpStatusCode.BadRequest);
        bad.Errors!.ShouldContainKey("plan");
        await Problem.ReadAsync(await host.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { }),
            HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await host.Admin(admin.Id)
            .PutAsJsonAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/plan", new { plan = "pro" }), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await client.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan",
            new { plan = "enterprise" }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_feature_gated_request_is_refused_on_free_and_served_on_pro()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var pro = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);

        var refused = await Problem.ReadAsync(await host.Api.ClientFor(owner.Id, free.Slug).GetAsync("/api/v1/billing/usage"),
            HttpStatusCode.Forbidden);
        refused.Type.ShouldBe("https://cleancrm.dev/problems/feature_disabled");
        refused.Detail.ShouldContain("advanced_reporting");
        var served = await host.Api.ClientFor(owner.Id, pro.Slug).GetAsync("/api/v1/billing/usage");
        served.StatusCode.ShouldBe(HttpStatusCode.OK, await served.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_admin_override_turns_a_feature_on_until_it_expires_and_clearing_it_restores_the_plan()
    {
        // The expiry is judged on the host's clock: a fake one is moved past it instead of waiting.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = new BillingHost(platform, clock: clock);
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var adminClient = host.Admin(admin.Id);
        var route = $"/api/v1/admin/organizations/{organization.Id}/features/advanced_reporting";

        var set = await adminClient.PutAsJsonAsync(route, new { enabled = true, expiresAt = clock.GetUtcNow().AddSeconds(3) });
        set.StatusCode.ShouldBe(HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        (await set.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("features").GetProperty("advanced_reporting").GetBoolean()
            .ShouldBeTrue();
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!["advanced_reporting"].ShouldBeTrue();
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!["workflows"].ShouldBeFalse();
        (await client.GetAsync("/api/v1/billing/usage")).StatusCode.ShouldBe(HttpStatusCode.OK);

        clock.Advance(TimeSpan.FromSeconds(2.9));
        var justBefore = await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features");
        justBefore!["advanced_reporting"].ShouldBeTrue("0.1 s before it expires");
        clock.Advance(TimeSpan.FromSeconds(0.1));
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!["advanced_reporting"].ShouldBeFalse();
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/billing/usage"), HttpStatusCode.Forbidden))
            .Type.ShouldEndWith("/feature_disabled");

        // An override can also switch a plan feature off, and clearing it restores the plan's value.
        await host.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = "pro" });
        (await adminClient.PutAsJsonAsync(route, new { enabled = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/api/v1/billing/usage")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await adminClient.DeleteAsync(route)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/api/v1/billing/usage")).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await Problem.ReadAsync(await adminClient.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/features/teleport",
            new { enabled = true }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("key");
        (await Problem.ReadAsync(await adminClient.PutAsJsonAsync(route, new
        {
            enabled = true,
            expiresAt = DateTimeOffset.UtcNow.AddDays(-1)
        }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("expiresAt");
        (await Problem.ReadAsync(await adminClient.PutAsJsonAsync(route, new { expiresAt = DateTimeOffset.UtcNow.AddDays(1) }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("enabled");
        await Problem.ReadAsync(await adminClient.PutAsJsonAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/features/workflows",
            new { enabled = true }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Limit_overrides_replace_plan_limits_and_bad_values_are_refused()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var route = $"/api/v1/admin/organizations/{organization.Id}/limits";

        var set = await host.Admin(admin.Id).PutAsJsonAsync(route, new { seats = 12, aiTokensPerMonth = 5_000_000 });
        set.StatusCode.ShouldBe(HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        var limits = (await host.Api.ClientFor(owner.Id, organization.Slug).GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements"))
            .GetProperty("limits");
        limits.GetProperty("seats").GetInt32().ShouldBe(12);
        limits.GetProperty("aiTokensPerMonth").GetInt64().ShouldBe(5_000_000);
        limits.GetProperty("apiRequestsPer10Seconds").GetInt32().ShouldBe(190);

        var bad = await Problem.ReadAsync(await host.Admin(admin.Id).PutAsJsonAsync(route, new { seats = -1, apiRequestsPer10Seconds = 0 }),
            HttpStatusCode.BadRequest);
        bad.Errors!.Keys.ShouldBe(["apiRequestsPer10Seconds", "seats"], ignoreOrder: true);
        (await host.Admin(admin.Id).PutAsJsonAsync(route, new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await host.Api.ClientFor(owner.Id, organization.Slug).GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements"))
            .GetProperty("limits").GetProperty("seats").GetInt32().ShouldBe(5);
    }

    [Fact]
    public async Task The_seat_check_refuses_members_beyond_the_plan_with_plan_limit_reached()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var pro = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (member, OrgRole.Member)], plan: Plan.Pro);
        using var scope = host.Api.Services.CreateScope();
        var entitlements = scope.ServiceProvider.GetRequiredService<IEntitlements>();

        var refused = await entitlements.CheckSeatsAsync(free.Id, 1);
        refused.ShouldNotBeNull();
        refused.Code.ShouldBe("plan_limit_reached");
        refused.Detail.ShouldContain("seats");
        (await entitlements.CheckSeatsAsync(pro.Id, 3)).ShouldBeNull();
        (await entitlements.CheckSeatsAsync(pro.Id, 4))!.Code.ShouldBe("plan_limit_reached");
        (await entitlements.GetAsync(pro.Id))!.Usage.Seats.ShouldBe(2);
    }

    [Fact]
    public async Task IFeatureManager_answers_for_the_tenant_in_scope_and_for_an_explicit_org()
    {
        var host = await HostAsync();
        var free = await platform.CreateOrganizationAsync();
        var pro = await platform.CreateOrganizationAsync(plan: Plan.Pro);
        var features = host.Api.Services.GetRequiredService<IFeatureManager>();
        var scopes = host.Api.Services.GetRequiredService<TenantScopeFactory>();

        (await features.IsEnabledAsync(PremiumFeatures.Workflows)).ShouldBeFalse("no tenant in scope");
        await using (await scopes.BeginAsync(pro.Id))
        {
            (await features.IsEnabledAsync(PremiumFeatures.Workflows)).ShouldBeTrue();
        }

        await using (await scopes.BeginAsync(free.Id))
        {
            (await features.IsEnabledAsync(PremiumFeatures.Workflows)).ShouldBeFalse();
            (await features.IsEnabledAsync(PremiumFeatures.Workflows, new OrganizationFeatureContext(pro.Id))).ShouldBeTrue();
        }

        (await features.IsEnabledAsync("not_a_feature")).ShouldBeFalse();
    }

    [Fact]
    public async Task An_override_made_on_one_instance_reaches_another_instances_cache_within_seconds()
    {
        var cached = new Dictionary<string, string?> { ["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "300" };
        using var first = new BillingHost(platform, cached);
        using var second = new BillingHost(platform, cached);
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var reader = second.Api.ClientFor(owner.Id, organization.Slug);
        _ = first.Api.CreateClient();
        await WaitForListenerAsync(second);
        (await reader.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!["workflows"].ShouldBeFalse();

        (await first.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/features/workflows",
            new { enabled = true })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        bool seen;
        do
        {
            seen = (await reader.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!["workflows"];
            if (!seen)
            {
                await Task.Delay(50);
            }
        }
        while (!seen && DateTime.UtcNow < deadline);
        seen.ShouldBeTrue("the second instance kept a stale feature map for 5 s");

        (await first.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = "pro" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        deadline = DateTime.UtcNow.AddSeconds(5);
        string? plan;
        do
        {
            plan = (await reader.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements")).GetProperty("plan").GetString();
            if (plan != "pro")
            {
                await Task.Delay(50);
            }
        }
        while (plan != "pro" && DateTime.UtcNow < deadline);
        plan.ShouldBe("pro");
    }

    private static async Task WaitForListenerAsync(BillingHost host)
    {
        var listener = host.Api.Services.GetRequiredService<CatalogChangeListener>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!listener.IsListening && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        listener.IsListening.ShouldBeTrue();
    }
}
