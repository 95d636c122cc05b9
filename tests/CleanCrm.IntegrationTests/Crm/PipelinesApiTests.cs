using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;

namespace CleanCrm.IntegrationTests.Crm;

[Collection(PlatformCollection.Name)]
public sealed class PipelinesApiTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_new_org_has_one_default_pipeline_with_ordered_stages_invisible_to_other_orgs()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var other = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var otherOrg = await platform.CreateOrganizationAsync(members: [(other, OrgRole.Owner)]);
        var list = await api.ClientFor(owner.Id, organization.Slug).GetFromJsonAsync<JsonElement>("/api/v1/pipelines");
        var pipeline = list.GetProperty("items").EnumerateArray().Single();
        pipeline.GetProperty("isDefault").GetBoolean().ShouldBeTrue();
        var stages = pipeline.GetProperty("stages").EnumerateArray().ToList();
        stages.Select(s => s.GetProperty("position").GetInt32()).ShouldBe([0, 1, 2, 3, 4, 5]);
        stages.Select(s => s.GetProperty("kind").GetString()).ShouldBe(["open", "open", "open", "open", "won", "lost"]);
        stages.Last().GetProperty("probability").GetInt32().ShouldBe(0);

        var id = pipeline.GetProperty("id").GetGuid();
        (await api.ClientFor(owner.Id, organization.Slug).GetAsync($"/api/v1/pipelines/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Problem.ReadAsync(await api.ClientFor(other.Id, otherOrg.Slug).GetAsync($"/api/v1/pipelines/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await api.ClientFor(other.Id, organization.Slug).GetAsync("/api/v1/pipelines"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/pipelines/not-a-guid"),
            HttpStatusCode.NotFound);
    }
}
