using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Api;

[Collection(PlatformCollection.Name)]
public sealed class FoundationTests(SharedPlatform platform) : IDisposable
{
    private readonly ApiFactory _api = new(platform);

    [Fact]
    public async Task Health_endpoints_report_live_and_ready_with_a_migrated_catalog()
    {
        var client = _api.CreateClient();
        (await client.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var ready = await client.GetAsync("/health/ready");
        ready.StatusCode.ShouldBe(HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Loggers_are_created_once_per_category()
    {
        var factory = _api.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>();
        factory.ShouldBeOfType<CleanCrm.Api.Infrastructure.CachingLoggerFactory>();
        factory.CreateLogger("CleanCrm.Test").ShouldBeSameAs(factory.CreateLogger("CleanCrm.Test"));
        factory.CreateLogger("CleanCrm.Test").ShouldNotBeSameAs(factory.CreateLogger("CleanCrm.Other"));
    }

    [Fact]
    public async Task Ready_fails_when_the_catalog_is_unreachable()
    {
        using var broken = new ApiFactory(platform,
            new Dictionary<string, string?> { ["ConnectionStrings:Catalog"] = "Host=127.0.0.1;Port=1;Database=nowhere;Timeout=2" });
        var ready = await broken.CreateClient().GetAsync("/health/ready");
        ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task OpenApi_document_has_stable_operation_ids_and_typed_responses()
    {
        var client = _api.CreateClient();
        var response = await client.GetAsync("/openapi/v1.json");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Path: path.Name, Method: op.Name, Op: op.Value)))
            .ToList();
        var ids = operations.Select(o => o.Op.GetProperty("operationId").GetString()).ToList();
        ids.ShouldContain("Companies_List");
        ids.ShouldContain("Contacts_Update");
        ids.Distinct().Count().ShouldBe(ids.Count);
        foreach (
            var (path, method, op) in operations.Where(o => o.Method == "get" && o.Path.StartsWith("/api/v1", StringComparison.Ordinal)))
        {
            var ok = op.GetProperty("responses").GetProperty("200");
            ok.TryGetProperty("content", out _).ShouldBeTrue($"{method} {path} must declare a typed 200 body");
        }

        (await client.GetAsync("/swagger/index.html")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Metrics_endpoint_serves_prometheus_text()
    {
        var client = _api.CreateClient();
        await client.GetAsync("/health/live");
        var metrics = await client.GetAsync("/metrics");
        metrics.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await metrics.Content.ReadAsStringAsync()).ShouldContain("http_server_request_duration");
    }

    [Fact]
    public async Task Unknown_route_is_a_404_problem()
    {
        var problem = await Problem.ReadAsync(await _api.CreateClient().GetAsync("/api/v1/nothing-here"), HttpStatusCode.NotFound);
        problem.Type.ShouldEndWith("/not_found");
        problem.Detail.ShouldContain("/api/v1/nothing-here");
    }

    [Fact]
    public async Task Wrong_method_is_a_405_problem()
    {
        var user = await platform.CreateUserAsync();
        var problem = await Problem.ReadAsync(await _api.ClientFor(user.Id).PutAsync("/api/v1/companies", JsonContent("{}")),
            HttpStatusCode.MethodNotAllowed);
        problem.Detail.ShouldContain("PUT");
    }

    [Fact]
    public async Task Anonymous_call_to_an_org_endpoint_is_a_401_problem()
    {
        await Problem.ReadAsync(await _api.CreateClient().GetAsync("/api/v1/companies"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Wrong_content_type_is_a_415_problem_and_malformed_json_a_400_that_says_why()
    {
        var (client, _) = await ActiveOrgClientAsync();
        var wrongType = await client.PostAsync("/api/v1/companies", new StringContent("name=x", Encoding.UTF8, "text/plain"));
        await Problem.ReadAsync(wrongType, HttpStatusCode.UnsupportedMediaType);

        var malformed =
            await Problem.ReadAsync(await client.PostAsync("/api/v1/companies", JsonContent("{\"name\": ")), HttpStatusCode.BadRequest);
        malformed.Detail.ShouldContain("JSON");

        var wrongType2 =
            await Problem.ReadAsync(await client.PostAsync("/api/v1/companies", JsonContent("{\"name\": 42}")), HttpStatusCode.BadRequest);
        wrongType2.Detail.ShouldContain("name");

        var unknown = await Problem.ReadAsync(
            await client.PostAsync("/api/v1/companies", JsonContent("{\"name\": \"A\", \"colour\": \"red\"}")), HttpStatusCode.BadRequest);
        unknown.Detail.ShouldContain("colour");
    }

    [Fact]
    public async Task Oversized_body_is_a_413_problem_and_nothing_is_written()
    {
        var (client, organization) = await ActiveOrgClientAsync();
        var huge = "{\"name\":\"" + new string('a', 2 * 1024 * 1024) + "\"}";
        var response = await client.PostAsync("/api/v1/companies", JsonContent(huge));
        await Problem.ReadAsync(response, HttpStatusCode.RequestEntityTooLarge);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM companies")).ShouldBe(0);
    }

    [Fact]
    public async Task Bad_query_parameter_types_are_400_problems_naming_the_parameter()
    {
        var (client, _) = await ActiveOrgClientAsync();
        var problem = await Problem.ReadAsync(await client.GetAsync("/api/v1/companies?limit=lots"), HttpStatusCode.BadRequest);
        problem.Detail.ShouldContain("limit");
    }

    public void Dispose() => _api.Dispose();

    private async Task<(HttpClient Client, Domain.Catalog.Organization Organization)> ActiveOrgClientAsync()
    {
        var user = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(user, Domain.Catalog.OrgRole.Owner)]);
        return (_api.ClientFor(user.Id, organization.Slug), organization);
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
}
