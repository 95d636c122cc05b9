using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>Org-bound confidential clients: created by owners/admins, secret shown once, bound to their org.</summary>
[Collection(PlatformCollection.Name)]
public sealed class ApiClientTests(SharedPlatform platform)
{
    [Fact]
    public async Task An_org_bound_client_gets_tokens_that_work_only_for_its_org()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var orgA = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (member, OrgRole.Member)]);
        var orgB = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var ownerA = api.ClientFor(owner.Id, orgA.Slug);
        await OrgScopedEndpoints.CreateAsync(ownerA, "companies", new { name = "Visible to the integration" });

        await Problem.ReadAsync(await api.ClientFor(member.Id, orgA.Slug).PostAsJsonAsync("/api/v1/api-clients", new { name = "Nope" }),
            HttpStatusCode.Forbidden);
        (await Problem.ReadAsync(await ownerA.PostAsJsonAsync("/api/v1/api-clients", new { name = "" }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("name");
        (await Problem.ReadAsync(await ownerA.PostAsJsonAsync("/api/v1/api-clients", new { name = "X", role = "owner" }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("role");

        var created = await ownerA.PostAsJsonAsync("/api/v1/api-clients", new { name = "Zapier", role = "member" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var clientId = body.GetProperty("clientId").GetString()!;
        var secret = body.GetProperty("clientSecret").GetString()!;
        var listed = await ownerA.GetStringAsync("/api/v1/api-clients");
        listed.ShouldContain(clientId);
        listed.ShouldNotContain(secret);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM \"OpenIddictApplications\" WHERE client_secret LIKE '%' || $1 || '%'", secret)).ShouldBe(0);
        (await api.ClientFor(owner.Id, orgB.Slug).GetStringAsync("/api/v1/api-clients")).ShouldNotContain(clientId);

        var token = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret,
            ["scope"] = "api",
        }));
        token.StatusCode.ShouldBe(HttpStatusCode.OK, await token.Content.ReadAsStringAsync());
        var accessToken = (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        var integration = api.CreateClient();
        integration.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        (await integration.GetStringAsync("/api/v1/companies")).ShouldContain("Visible to the integration");
        var mismatch = new HttpRequestMessage(HttpMethod.Get, "/api/v1/companies");
        mismatch.Headers.Add("X-Org", orgB.Slug);
        (await Problem.ReadAsync(await integration.SendAsync(mismatch), HttpStatusCode.Forbidden)).Type.ShouldEndWith("/org_mismatch");

        await Problem.ReadAsync(await api.ClientFor(owner.Id, orgB.Slug).DeleteAsync($"/api/v1/api-clients/{clientId}"),
            HttpStatusCode.NotFound);
        (await ownerA.DeleteAsync($"/api/v1/api-clients/{clientId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var afterDelete = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret,
        }));
        ((int)afterDelete.StatusCode).ShouldBeGreaterThanOrEqualTo(400);
    }
}
