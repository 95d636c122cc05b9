using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Identity;

[Collection(PlatformCollection.Name)]
public sealed class MembersTests(SharedPlatform platform)
{
    [Fact]
    public async Task Owners_manage_roles_the_last_owner_stays_and_removed_members_lose_access()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var outsider = await platform.CreateUserAsync();
        var organization =
            await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (admin, OrgRole.Admin), (member, OrgRole.Member)]);
        var other = await platform.CreateOrganizationAsync(members: [(outsider, OrgRole.Owner)]);
        var asOwner = api.ClientFor(owner.Id, organization.Slug);
        var asAdmin = api.ClientFor(admin.Id, organization.Slug);
        var asMember = api.ClientFor(member.Id, organization.Slug);

        var list = await asMember.GetFromJsonAsync<JsonElement>("/api/v1/members");
        list.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetGuid()).Order()
            .ShouldBe(new[] { owner.Id, admin.Id, member.Id }.Order());

        await Problem.ReadAsync(await asMember.PatchAsJsonAsync($"/api/v1/members/{admin.Id}", new { role = "member" }),
            HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await asAdmin.PatchAsJsonAsync($"/api/v1/members/{member.Id}", new { role = "owner" }),
            HttpStatusCode.Forbidden);
        (await Problem.ReadAsync(await asOwner.PatchAsJsonAsync($"/api/v1/members/{member.Id}", new { role = "superuser" }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("role");
        await Problem.ReadAsync(await asOwner.PatchAsJsonAsync($"/api/v1/members/{outsider.Id}", new { role = "member" }),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await api.ClientFor(outsider.Id, other.Slug).DeleteAsync($"/api/v1/members/{member.Id}"),
            HttpStatusCode.NotFound);

        await Problem.ReadAsync(await asOwner.PatchAsJsonAsync($"/api/v1/members/{owner.Id}", new { role = "admin" }),
            HttpStatusCode.Conflict);
        await Problem.ReadAsync(await asOwner.DeleteAsync($"/api/v1/members/{owner.Id}"), HttpStatusCode.Conflict);

        var changed = await asOwner.PatchAsJsonAsync($"/api/v1/members/{member.Id}", new { role = "readonly" });
        (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("role").GetString().ShouldBe("readonly");
        (await PlatformEnvironment.CountRowsAsync(
            organization, $"SELECT count(*) FROM members WHERE id = '{member.Id}' AND role = 'readonly'")).ShouldBe(1);
        await Problem.ReadAsync(await asMember.PostAsJsonAsync("/api/v1/companies", new { name = "Now read-only" }),
            HttpStatusCode.Forbidden);

        (await asAdmin.DeleteAsync($"/api/v1/members/{member.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Problem.ReadAsync(await asMember.GetAsync("/api/v1/companies"), HttpStatusCode.NotFound);
        (await PlatformEnvironment.CountRowsAsync(organization, $"SELECT count(*) FROM members WHERE id = '{member.Id}' AND NOT is_active"))
            .ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM memberships WHERE user_id = $1", member.Id)).ShouldBe(0);
    }
}
