using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.IntegrationTests.Support;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>The committed src/clients/typescript/openapi/v1.json is exactly what the built API serves.</summary>
[Collection(PlatformCollection.Name)]
public sealed class OpenApiDocumentDriftTests(SharedPlatform platform) : IDisposable
{
    public const string UpdateVariable = "CLEANCRM_UPDATE_OPENAPI";

    private readonly ApiFactory _api = new(platform);

    [Fact]
    public async Task Committed_document_matches_the_one_the_api_serves()
    {
        var served = await OpenApiDocument.FetchNormalizedAsync(_api);
        var path = OpenApiDocument.CommittedPath();
        var committed = File.Exists(path) ? await File.ReadAllTextAsync(path) : null;
        var difference = committed == served ? null
            : committed is null ? "the file does not exist"
            : OpenApiDocument.FirstDifference(JsonNode.Parse(committed), JsonNode.Parse(served), "$")
                ?? "the JSON is equal but its formatting differs";
        if (difference is null)
        {
            committed.ShouldBe(served);
        }
        else if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, served);
            Assert.Fail($"{path} was stale ({difference}) and has been rewritten; commit it.");
        }
        else
        {
            Assert.Fail($"{path} differs from the served /openapi/v1.json at {difference}; "
                + $"run with {UpdateVariable}=1 to rewrite it.");
        }
    }

    [Fact]
    public void First_difference_names_the_json_path()
    {
        var left = JsonNode.Parse("""{"paths":{"/a":{"get":{"operationId":"A_List","tags":["A"]}}}}""");
        var right = JsonNode.Parse("""{"paths":{"/a":{"get":{"operationId":"A_Get","tags":["A"]}}}}""");
        OpenApiDocument.FirstDifference(left, right, "$").ShouldStartWith("$.paths['/a'].get.operationId");
        OpenApiDocument.FirstDifference(JsonNode.Parse("[1,2]"), JsonNode.Parse("[1,3]"), "$").ShouldStartWith("$[1]");
        OpenApiDocument.FirstDifference(JsonNode.Parse("""{"a":1}"""), JsonNode.Parse("""{"a":1,"b":2}"""), "$")
            .ShouldStartWith("$.b");
        OpenApiDocument.FirstDifference(left, left!.DeepClone(), "$").ShouldBeNull();
    }

    public void Dispose() => _api.Dispose();
}

/// <summary>Fetching, normalising and comparing the served OpenAPI document.</summary>
internal static class OpenApiDocument
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<JsonObject> FetchAsync(ApiFactory api)
    {
        var response = await api.CreateClient().GetAsync("/openapi/v1.json");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Parsed and re-serialised (2-space indent, trailing newline) without the request's host.</summary>
    public static async Task<string> FetchNormalizedAsync(ApiFactory api) => Normalize(await FetchAsync(api));

    public static string Normalize(JsonObject document)
    {
        // NSwag derives "servers" from the request's scheme and host: run-specific, and clients pass their own base URL.
        document.Remove("servers");
        return document.ToJsonString(Indented).ReplaceLineEndings("\n") + "\n";
    }

    public static string CommittedPath() =>
        Path.Combine(RepositoryRoot(), "src", "clients", "typescript", "openapi", "v1.json");

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CleanCrm.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No CleanCrm.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>The JSON path of the first place where the two documents differ, with both values; null when equal.</summary>
    public static string? FirstDifference(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected, actual)
        {
            case (JsonObject left, JsonObject right):
                foreach (var (name, value) in left)
                {
                    var child = Child(path, name);
                    if (!right.ContainsKey(name))
                    {
                        return $"{child} (committed has it, served does not)";
                    }

                    if (FirstDifference(value, right[name], child) is { } found)
                    {
                        return found;
                    }
                }

                var added = right.Select(p => p.Key).FirstOrDefault(name => !left.ContainsKey(name));
                if (added is not null)
                {
                    return $"{Child(path, added)} (served has it, committed does not)";
                }

                var leftOrder = left.Select(p => p.Key);
                return leftOrder.SequenceEqual(right.Select(p => p.Key)) ? null : $"{path} (property order differs)";
            case (JsonArray left, JsonArray right):
                for (var i = 0; i < Math.Min(left.Count, right.Count); i++)
                {
                    if (FirstDifference(left[i], right[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return left.Count == right.Count
                    ? null
                    : $"{path}[{Math.Min(left.Count, right.Count)}] (lengths {left.Count} committed vs {right.Count} served)";
            default:
                return JsonNode.DeepEquals(expected, actual)
                    ? null
                    : $"{path} (committed {expected?.ToJsonString() ?? "null"}, served {actual?.ToJsonString() ?? "null"})";
        }
    }

    private static string Child(string path, string name) =>
        name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? $"{path}.{name}" : $"{path}['{name}']";
}
