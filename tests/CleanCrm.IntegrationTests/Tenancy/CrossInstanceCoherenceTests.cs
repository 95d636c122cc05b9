using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>
/// Two API instances (two WebApplicationFactory hosts on one catalog) with catalog caches kept for 10 minutes: each
/// change made through one instance's API is enforced by the other within 1 s (the catalog's LISTEN/NOTIFY channel,
/// docs/adr/0017-redis-plan-budgets.md "Several instances"), and tokens issued by one are accepted — and, once their
/// session is revoked, refused — by both.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class CrossInstanceCoherenceTests(SharedPlatform platform)
{
    private const string Password = "correct horse battery staple";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Feature_plan_membership_and_suspension_changes_through_one_instance_are_enforced_by_the_other_within_a_second()
    {
        var owner = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (member, OrgRole.Member)]);
        var (first, second) = await TwoInstancesAsync();
        await using var _ = first;
        await using var __ = second;
        var asAdmin = first.CreateClient();
        asAdmin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        var ownerOnFirst = first.ClientFor(owner.Id, organization.Slug);
        var ownerOnSecond = second.ClientFor(owner.Id, organization.Slug);
        var memberOnSecond = second.ClientFor(member.Id, organization.Slug);

        // Both instances cache the organization, its billing profile and both memberships.
        foreach (var client in new[] { ownerOnFirst, ownerOnSecond, first.ClientFor(member.Id, organization.Slug), memberOnSecond })
        {
            (await client.GetAsync("/api/v1/features")).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await FeaturesAsync(ownerOnSecond)).GetProperty(PremiumFeatures.Proposals).GetBoolean().ShouldBeFalse();

        (await asAdmin.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/features/{PremiumFeatures.Proposals}",
            new { enabled = true })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await EnforcedWithinAsync(async () => (await FeaturesAsync(ownerOnSecond)).GetProperty(PremiumFeatures.Proposals).GetBoolean(),
            "a feature override");

        (await LimitAsync(ownerOnSecond)).ShouldBe(100, "the free plan's budget");
        (await asAdmin.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = Plan.Pro }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await EnforcedWithinAsync(async () => await LimitAsync(ownerOnSecond) == 190, "a plan change (the pro plan's budget)");

        (await ownerOnFirst.DeleteAsync($"/api/v1/members/{member.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await EnforcedWithinAsync(async () => (await memberOnSecond.GetAsync("/api/v1/features")).StatusCode == HttpStatusCode.NotFound,
            "a membership removal");

        (await asAdmin.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", new { reason = "coherence test" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await EnforcedWithinAsync(async () => (await ownerOnSecond.GetAsync("/api/v1/features")).StatusCode == HttpStatusCode.Forbidden,
            "a suspension");
    }

    [Fact]
    public async Task A_token_issued_by_one_instance_is_accepted_by_the_other_and_a_revoked_session_is_refused_by_both_within_a_second()
    {
        var user = await platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        var (first, second) = await TwoInstancesAsync();
        await using var _ = first;
        await using var __ = second;
        var stolen = await SignInAsync(first, user, "stolen/1.0");
        var kept = await SignInAsync(first, user, "kept/1.0");

        // Issued by the first instance, validated (and remembered in its validated-token cache) by the second.
        (await Bearer(second, stolen).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Bearer(second, kept).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Bearer(first, stolen).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var sessions = await Bearer(first, kept).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions");
        var id = sessions.EnumerateArray().Single(s => s.GetProperty("userAgent").GetString() == "stolen/1.0").GetProperty("id").GetGuid();
        (await Bearer(first, kept).DeleteAsync($"/api/v1/me/sessions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await Bearer(first, stolen).GetAsync("/api/v1/me")).StatusCode
            .ShouldBe(HttpStatusCode.Unauthorized, "at once where it was revoked");
        await EnforcedWithinAsync(
            async () => (await Bearer(second, stolen).GetAsync("/api/v1/me")).StatusCode == HttpStatusCode.Unauthorized,
            "a session revocation");
        (await Bearer(second, kept).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK, "the other session stays valid");
    }

    private async Task<(ApiFactory First, ApiFactory Second)> TwoInstancesAsync()
    {
        // Ten-minute caches: only the notification can make a change visible within a second.
        var settings = new Dictionary<string, string?>
        {
            ["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "600",
            ["CleanCrm:RateLimiting:Enabled"] = "true",
        };
        var first = new ApiFactory(platform, settings);
        var second = new ApiFactory(platform, settings);
        foreach (var api in new[] { first, second })
        {
            (await api.CreateClient().GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
            var listener = api.Services.GetRequiredService<CatalogChangeListener>();
            var watch = Stopwatch.StartNew();
            while (!listener.IsListening)
            {
                watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the catalog listener did not start");
                await Task.Delay(20);
            }
        }

        return (first, second);
    }

    private static async Task EnforcedWithinAsync(Func<Task<bool>> enforced, string change)
    {
        var watch = Stopwatch.StartNew();
        while (!await enforced())
        {
            watch.Elapsed.ShouldBeLessThan(Within, $"the other instance did not enforce {change} within {Within.TotalSeconds:0} s");
            await Task.Delay(20);
        }
    }

    private static async Task<JsonElement> FeaturesAsync(HttpClient client) =>
        await client.GetFromJsonAsync<JsonElement>("/api/v1/features");

    private static async Task<int> LimitAsync(HttpClient client)
    {
        var answer = await client.GetAsync("/api/v1/features");
        answer.StatusCode.ShouldBe(HttpStatusCode.OK);
        return int.Parse(answer.Headers.GetValues("RateLimit-Limit").Single(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> SignInAsync(ApiFactory api, UserAccount user, string userAgent)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        var response = await client.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = user.Email,
            ["password"] = Password,
            ["scope"] = "openid email profile offline_access api",
        }));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
    }

    private static HttpClient Bearer(ApiFactory api, string token)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
