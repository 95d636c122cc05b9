using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Json;
using CleanCrm.IntegrationTests.Support;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>The served /openapi/v1.json is good enough to generate a client from, checked against the endpoints themselves.</summary>
[Collection(PlatformCollection.Name)]
public sealed partial class OpenApiDocumentQualityTests(SharedPlatform platform) : IAsyncLifetime
{
    private static readonly string[] VersionedResources =
        ["companies", "contacts", "deals", "activities", "tasks", "notes", "meetings", "calendar-events", "tags"];

    private readonly ApiFactory _api = new(platform);
    private JsonObject _document = new();

    private JsonObject Schemas => _document["components"]!["schemas"]!.AsObject();

    public async Task InitializeAsync() => _document = await OpenApiDocument.FetchAsync(_api);

    public Task DisposeAsync()
    {
        _api.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void Every_operation_has_a_unique_convention_operation_id_a_summary_and_a_description()
    {
        var operations = Operations().ToList();
        operations.Count.ShouldBeGreaterThan(90);
        var problems = new List<string>();
        foreach (var (path, method, operation) in operations)
        {
            var id = operation["operationId"]?.GetValue<string>();
            if (id is null || !OperationId().IsMatch(id))
            {
                problems.Add($"{method} {path}: operationId '{id}' is not <Tag>_<Action>");
            }

            if (string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>()))
            {
                problems.Add($"{method} {path}: no summary");
            }

            if (string.IsNullOrWhiteSpace(operation["description"]?.GetValue<string>()))
            {
                problems.Add($"{method} {path}: no description");
            }
        }

        problems.ShouldBeEmpty();
        var ids = operations.Select(o => o.Operation["operationId"]!.GetValue<string>()).ToList();
        ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ShouldBeEmpty();
        ids.ShouldContain("Companies_List");
        ids.ShouldContain("Deals_Move");
        ids.ShouldContain("Imports_StartContactImport");
        ids.ShouldContain("Me_Get");
        ids.ShouldContain("Features_Get");
        ids.ShouldContain("Organizations_SignUp");
    }

    [Fact]
    public void Every_operation_has_a_success_and_the_problem_responses_of_its_kind()
    {
        var problems = new List<string>();
        var endpoints = Endpoints();
        foreach (var (path, method, operation) in Operations())
        {
            var id = operation["operationId"]!.GetValue<string>();
            var endpoint = endpoints.GetValueOrDefault(id);
            if (endpoint is null)
            {
                problems.Add($"{id}: no endpoint of that name");
                continue;
            }

            var responses = operation["responses"]!.AsObject();
            var expected = new List<string>();
            if (!responses.Any(r => r.Key.StartsWith('2')))
            {
                problems.Add($"{id}: no 2xx response");
            }

            var authenticated = endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null
                && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null;
            var orgScoped = endpoint.Metadata.GetMetadata<OrgScopedEndpointAttribute>() is not null;
            if (authenticated)
            {
                expected.AddRange(["401", "403"]);
                var schemes = operation["security"]?.AsArray().SelectMany(r => r!.AsObject().Select(s => s.Key)).ToList() ?? [];
                if (!schemes.Contains("oauth2") || !schemes.Contains("bearer"))
                {
                    problems.Add($"{id}: needs authentication but its security is [{string.Join(",", schemes)}]");
                }
            }

            if (orgScoped)
            {
                expected.AddRange(["403", "404", "429", "503"]);
                if (!HeaderParameters(operation).Contains("X-Org"))
                {
                    problems.Add($"{id}: org-scoped without the X-Org header parameter");
                }
            }

            if (operation["requestBody"] is not null)
            {
                expected.AddRange(["400", "413", "415"]);
            }

            if (id is "Invitations_Create" or "Invitations_Accept")
            {
                expected.Add("402");
            }

            if (method is "patch" or "delete" && VersionedResources.Any(r => path == $"/api/v1/{r}/{{id}}"))
            {
                expected.Add("412");
            }

            problems.AddRange(expected.Distinct().Where(status => !responses.ContainsKey(status)).Select(s => $"{id}: no {s} response"));
            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
            {
                var schema = response!["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>();
                if (schema != "#/components/schemas/ProblemDetails")
                {
                    problems.Add($"{id}: {status} is not application/problem+json ProblemDetails");
                }

                if (status is "429" or "503" && response["headers"]?["Retry-After"] is null)
                {
                    problems.Add($"{id}: {status} without the Retry-After header");
                }
            }
        }

        problems.ShouldBeEmpty();
    }

    [Fact]
    public void Versioned_resources_take_If_Match_and_return_ETag()
    {
        var problems = new List<string>();
        foreach (var resource in VersionedResources)
        {
            var item = _document["paths"]![$"/api/v1/{resource}/{{id}}"]!;
            foreach (var method in new[] { "patch", "delete" })
            {
                if (!HeaderParameters(item[method]!.AsObject()).Contains("If-Match"))
                {
                    problems.Add($"{method} {resource}/{{id}}: no If-Match header parameter");
                }
            }

            foreach (var (method, status) in new[] { ("get", "200"), ("patch", "200") })
            {
                if (item[method]!["responses"]![status]!["headers"]?["ETag"] is null)
                {
                    problems.Add($"{method} {resource}/{{id}}: {status} without ETag");
                }
            }

            var created = _document["paths"]![$"/api/v1/{resource}"]!["post"]!["responses"]!["201"]!;
            if (created["headers"]?["ETag"] is null || created["headers"]?["Location"] is null)
            {
                problems.Add($"post {resource}: 201 without ETag and Location");
            }
        }

        problems.ShouldBeEmpty();
    }

    [Fact]
    public void Enums_are_the_strings_the_api_writes()
    {
        var enums = Schemas.Where(s => s.Value?["enum"] is not null).ToList();
        enums.Count.ShouldBeGreaterThan(5);
        var problems = new List<string>();
        foreach (var (name, schema) in enums)
        {
            var values = schema!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).ToHashSet();
            if (schema["type"]?.GetValue<string>() != "string")
            {
                problems.Add($"{name}: type is not string");
            }

            var type = AppDomain.CurrentDomain.GetAssemblies()
                .Where(a => a.GetName().Name?.StartsWith("CleanCrm.", StringComparison.Ordinal) == true)
                .SelectMany(a => a.GetTypes()).FirstOrDefault(t => t.IsEnum && t.Name == name);
            if (type is null)
            {
                problems.Add($"{name}: no CleanCrm enum of that name");
                continue;
            }

            var wire = Enum.GetValues(type).Cast<object>()
                .Select(v => JsonSerializer.Serialize(v, type, ApiJson.Options).Trim('"'))
                .ToHashSet();
            if (!wire.SetEquals(values))
            {
                problems.Add($"{name}: document [{string.Join(",", values)}] but the API writes [{string.Join(",", wire)}]");
            }
        }

        problems.ShouldBeEmpty();
    }

    [Fact]
    public void Contact_import_takes_a_multipart_csv_file_or_a_csv_body()
    {
        var operation = Operations().Single(o => o.Operation["operationId"]!.GetValue<string>() == "Imports_StartContactImport").Operation;
        var content = operation["requestBody"]!["content"]!;
        var form = content["multipart/form-data"]!["schema"]!;
        form["type"]!.GetValue<string>().ShouldBe("object");
        form["properties"]!["file"]!["format"]!.GetValue<string>().ShouldBe("binary");
        form["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldContain("file");
        content["text/csv"].ShouldNotBeNull();
        operation["responses"]!["202"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>()
            .ShouldBe("#/components/schemas/ImportAccepted");
    }

    [Fact]
    public void Lists_are_typed_envelopes_and_response_fields_are_required_as_the_api_always_writes_them()
    {
        foreach (var resource in new[] { "Company", "Contact", "Deal" })
        {
            var page = Schemas[$"PageOf{resource}Dto"]!;
            page["properties"]!["items"]!["items"]!["$ref"]!.GetValue<string>().ShouldBe($"#/components/schemas/{resource}Dto");
            page["properties"]!["nextCursor"]!["nullable"]!.GetValue<bool>().ShouldBeTrue();
            page["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["items", "nextCursor"], ignoreOrder: true);

            var dto = Schemas[$"{resource}Dto"]!;
            var properties = dto["properties"]!.AsObject().Select(p => p.Key).ToList();
            dto["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(properties, ignoreOrder: true);
            dto["properties"]!["id"]!["nullable"].ShouldBeNull();
            dto["example"].ShouldNotBeNull($"{resource}Dto has no example");
            Schemas[$"{resource}Fields"]!["example"].ShouldNotBeNull($"{resource}Fields has no example");
        }

        Schemas["CompanyDto"]!["properties"]!["domain"]!["nullable"]!.GetValue<bool>().ShouldBeTrue();
        Schemas["CompanyFields"]!["required"].ShouldBeNull("merge-patch bodies have no required fields");
    }

    [Fact]
    public async Task Problem_schema_matches_a_problem_the_api_writes()
    {
        var schema = Schemas["ProblemDetails"]!;
        var properties = schema["properties"]!.AsObject().Select(p => p.Key).ToHashSet();
        properties.SetEquals(["type", "title", "status", "detail", "instance", "code", "errors", "traceId"]).ShouldBeTrue();
        var response = await _api.CreateClient().GetAsync("/api/v1/nothing-here");
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        body.Select(p => p.Key).Where(k => !properties.Contains(k)).ShouldBeEmpty();
        schema["required"]!.AsArray().Select(r => r!.GetValue<string>()).Where(r => !body.ContainsKey(r)).ShouldBeEmpty();
    }

    [Fact]
    public void Security_schemes_offer_authorization_code_and_client_credentials_and_bearer()
    {
        var schemes = _document["components"]!["securitySchemes"]!;
        var flows = schemes["oauth2"]!["flows"]!;
        flows["authorizationCode"]!["authorizationUrl"]!.GetValue<string>().ShouldEndWith("/connect/authorize");
        flows["authorizationCode"]!["tokenUrl"]!.GetValue<string>().ShouldEndWith("/connect/token");
        flows["clientCredentials"]!["tokenUrl"]!.GetValue<string>().ShouldEndWith("/connect/token");
        schemes["oauth2"]!["description"]!.GetValue<string>().ShouldContain("PKCE");
        schemes["bearer"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");
    }

    [Fact]
    public async Task Security_scheme_urls_come_from_the_configured_issuer()
    {
        using var api = new ApiFactory(platform,
            new Dictionary<string, string?> { ["CleanCrm:Identity:Issuer"] = "https://id.example.test/" });
        var document = await OpenApiDocument.FetchAsync(api);
        var flows = document["components"]!["securitySchemes"]!["oauth2"]!["flows"]!;
        flows["authorizationCode"]!["authorizationUrl"]!.GetValue<string>().ShouldBe("https://id.example.test/connect/authorize");
        flows["clientCredentials"]!["tokenUrl"]!.GetValue<string>().ShouldBe("https://id.example.test/connect/token");
    }

    private IEnumerable<(string Path, string Method, JsonObject Operation)> Operations() =>
        _document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject().Select(op => (path.Key, op.Key, op.Value!.AsObject())));

    private static HashSet<string> HeaderParameters(JsonObject operation) =>
        operation["parameters"]?.AsArray().Where(p => p!["in"]!.GetValue<string>() == "header").Select(p => p!["name"]!.GetValue<string>())
            .ToHashSet() ?? [];

    private Dictionary<string, Endpoint> Endpoints() =>
        _api.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => (Endpoint: e, Name: e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName))
            .Where(e => e.Name is not null)
            .GroupBy(e => e.Name!)
            .ToDictionary(g => g.Key, g => g.First().Endpoint);

    [GeneratedRegex("^[A-Z][A-Za-z]+_[A-Z][A-Za-z]+$")]
    private static partial Regex OperationId();
}
