using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>
/// The 500s the abuse corpus of the fault suite found (tests/faults, docs/reliability.md), each now a problem-details 4xx
/// that says what was wrong, with nothing written (docs/API.md, "Errors").
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class AbuseRegressionTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private HttpClient _owner = null!;
    private Organization _org = null!;
    private UserAccount _ownerUser = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _ownerUser = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner)], plan: Plan.Enterprise);
        _owner = _api.ClientFor(_ownerUser.Id, _org.Slug);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("application/xml")]
    [InlineData("text/html")]
    public async Task An_error_is_a_problem_document_whatever_the_accept_header_asks_for(string accept)
    {
        using var missing = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/companies/{Guid.NewGuid()}");
        missing.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        var notFound = await Problem.ReadAsync(await _owner.SendAsync(missing), HttpStatusCode.NotFound);
        notFound.Code.ShouldBe("not_found");

        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        anonymous.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        await Problem.ReadAsync(await _api.CreateClient().SendAsync(anonymous), HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("/api/v1/companies?q=a%00b")]
    [InlineData("/api/v1/contacts?email=%00")]
    [InlineData("/api/v1/audit-log?entityType=%00")]
    public async Task A_nul_character_in_a_search_or_filter_is_a_400(string target)
    {
        var problem = await Problem.ReadAsync(await _owner.GetAsync(target), HttpStatusCode.BadRequest);

        problem.Code.ShouldBe("bad_request");
        problem.Detail.ShouldContain("\\u0000");
    }

    [Fact]
    public async Task A_nul_character_in_a_written_field_is_a_400_and_nothing_is_written()
    {
        var name = $"nul-{Guid.NewGuid():N}";
        using var body = new StringContent($"{{\"name\":\"{name}\",\"industry\":\"a\\u0000b\"}}", Encoding.UTF8, "application/json");

        var problem = await Problem.ReadAsync(await _owner.PostAsync("/api/v1/companies", body), HttpStatusCode.BadRequest);

        problem.Code.ShouldBe("bad_request");
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM companies WHERE name = '{name}'")).ShouldBe(0);
    }

    [Fact]
    public async Task A_merge_patch_naming_a_field_twice_is_a_400_on_that_field_and_the_record_is_unchanged()
    {
        var created = await _owner.PostAsJsonAsync("/api/v1/companies", new { name = "Twice" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/companies/{id}")
        {
            Content = new StringContent("{\"name\":\"First\",\"name\":\"Second\"}", Encoding.UTF8, "application/merge-patch+json"),
        };
        patch.Headers.IfMatch.Add(created.Headers.ETag!);

        var problem = await Problem.ReadAsync(await _owner.SendAsync(patch), HttpStatusCode.BadRequest);

        problem.Code.ShouldBe("validation_failed");
        problem.Errors!.Keys.ShouldContain("name");
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM companies WHERE id = '{id}' AND name = 'Twice'"))
            .ShouldBe(1);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"issuer\":\"https://login.example.com/\",\"clientId\":\"c\",\"clientSecret\":\"s\",\"allowedDomains\":null}")]
    public async Task An_sso_configuration_without_allowed_domains_is_a_400_on_that_field(string json)
    {
        using var body = new StringContent(json, Encoding.UTF8, "application/json");

        var problem = await Problem.ReadAsync(
            await _api.ClientFor(_ownerUser.Id).PutAsync($"/api/v1/orgs/{_org.Slug}/sso", body), HttpStatusCode.BadRequest);

        problem.Code.ShouldBe("validation_failed");
        problem.Errors!.Keys.ShouldContain("allowedDomains");
    }
}
