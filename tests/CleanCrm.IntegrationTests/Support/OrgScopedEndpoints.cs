using System.Net.Http.Json;
using System.Text;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>Every org-scoped endpoint, so isolation tests cover each one (a new endpoint must be added here).</summary>
public static class OrgScopedEndpoints
{
    public sealed record Call(string Name, HttpMethod Method, string Path, Func<string?> Body, string ContentType = "application/json")
    {
        public HttpRequestMessage Request(Guid targetId)
        {
            var request = new HttpRequestMessage(Method, Path.Replace("{id}", targetId.ToString(), StringComparison.Ordinal));
            if (Body() is { } body)
            {
                request.Content = new StringContent(body, Encoding.UTF8, ContentType);
            }

            return request;
        }

        public override string ToString() => Name;
    }

    /// <summary>The CRUD resources and a create/patch body for each (references are checked after the org, so any id will do).</summary>
    public static readonly IReadOnlyDictionary<string, (string Create, string Patch)> Resources = new Dictionary<string, (string, string)>
    {
        ["companies"] = ("{\"name\":\"Intruder Inc\"}", "{\"name\":\"Hijacked\"}"),
        ["contacts"] = ("{\"firstName\":\"Intruder\"}", "{\"firstName\":\"Hijacked\"}"),
        ["deals"] = ("{\"name\":\"Intruder deal\"}", "{\"name\":\"Hijacked\"}"),
        ["activities"] = ("{\"type\":\"call\",\"subject\":\"Intruder\",\"companyId\":\"{companyId}\"}", "{\"subject\":\"Hijacked\"}"),
        ["tasks"] = ("{\"title\":\"Intruder\",\"companyId\":\"{companyId}\"}", "{\"title\":\"Hijacked\"}"),
        ["notes"] = ("{\"body\":\"Intruder\",\"companyId\":\"{companyId}\"}", "{\"body\":\"Hijacked\"}"),
        ["meetings"] = ("{\"title\":\"Intruder\",\"startsAt\":\"2026-03-01T10:00:00Z\"}", "{\"title\":\"Hijacked\"}"),
        ["calendar-events"] = ("{\"title\":\"Intruder\",\"startsAt\":\"2026-03-01T10:00:00Z\"}", "{\"title\":\"Hijacked\"}"),
        ["tags"] = ("{\"name\":\"intruder\"}", "{\"name\":\"hijacked\"}"),
        ["workflows"] = (WorkflowBody, "{\"name\":\"Hijacked\"}"),
    };

    /// <summary>A valid workflow (no references to the org's records), for creating one in any organization.</summary>
    public const string WorkflowBody =
        "{\"name\":\"Intruder\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}";

    public static IEnumerable<Call> For(string resource) =>
    [
        new($"list {resource}", HttpMethod.Get, $"/api/v1/{resource}", () => null),
        new($"create {resource}", HttpMethod.Post, $"/api/v1/{resource}", () => Resources[resource]
            .Create.Replace("{companyId}", Guid.NewGuid().ToString(), StringComparison.Ordinal)),
        new($"get {resource}", HttpMethod.Get, $"/api/v1/{resource}/{{id}}", () => null),
        new($"patch {resource}", HttpMethod.Patch, $"/api/v1/{resource}/{{id}}", () => Resources[resource].Patch),
        new($"delete {resource}", HttpMethod.Delete, $"/api/v1/{resource}/{{id}}", () => null),
    ];

    public static IEnumerable<Call> DealActions =>
    [
        new("move deals", HttpMethod.Post, "/api/v1/deals/{id}/move", () => $"{{\"stageId\":\"{Guid.NewGuid()}\"}}"),
        new("history deals", HttpMethod.Get, "/api/v1/deals/{id}/history", () => null),
        new("set splits deals", HttpMethod.Put, "/api/v1/deals/{id}/splits", () => "[]"),
        new("get splits deals", HttpMethod.Get, "/api/v1/deals/{id}/splits", () => null),
        new("list audit-log", HttpMethod.Get, "/api/v1/audit-log", () => null),
        new("logo companies", HttpMethod.Get, "/api/v1/companies/{id}/logo", () => null),
        new("enrichment companies", HttpMethod.Get, "/api/v1/companies/{id}/enrichment", () => null),
        new("runs workflows", HttpMethod.Get, "/api/v1/workflows/{id}/runs", () => null),
        new("request proposal deals", HttpMethod.Post, "/api/v1/deals/{id}/proposals", () => "{\"instructions\":\"Intruder\"}"),
        new("list proposals deals", HttpMethod.Get, "/api/v1/deals/{id}/proposals", () => null),
        new("summarize meetings", HttpMethod.Post, "/api/v1/meetings/{id}/summary", () => null),
        new("get proposals template", HttpMethod.Get, "/api/v1/proposals/template", () => null),
        new("set proposals template", HttpMethod.Put, "/api/v1/proposals/template", () => "{\"markdown\":\"# Intruder\"}"),
    ];

    public static IEnumerable<Call> All => Resources.Keys.SelectMany(For).Concat(DealActions).Concat(Imports).Concat(Reports);

    /// <summary>The advanced reports: read-only aggregates of deals, activities and meetings (docs/REPORTS.md).</summary>
    public static IEnumerable<Call> Reports =>
        new[] { "pipeline", "forecast", "win-rate", "revenue-by-owner", "activity" }
            .Select(report => new Call($"report {report}", HttpMethod.Get, $"/api/v1/reports/{report}", () => null));

    /// <summary>The resource segment of a call's path (<c>deals</c> for <c>/api/v1/deals/{id}/move</c>).</summary>
    public static string Resource(this Call call) => call.Path.Split('/')[3];

    /// <summary>The table whose rows a call could change; the audit log and the reports only read, so a CRM table stands in.</summary>
    public static string Table(this Call call) => call.Resource() switch
    {
        "audit-log" => "companies",
        "reports" => "deals",
        var resource => resource.Replace('-', '_'),
    };

    /// <summary>The import endpoints: start (a CSV body) and progress; the import row is the record another org must not see.</summary>
    public static IEnumerable<Call> Imports =>
    [
        new("start contact import", HttpMethod.Post, "/api/v1/imports/contacts", () => ImportCsv, "text/csv"),
        new("get imports", HttpMethod.Get, "/api/v1/imports/{id}", () => null),
    ];

    /// <summary>A header-only CSV: even if a worker runs it, it changes no contact.</summary>
    public const string ImportCsv = "firstName,lastName,email\n";


    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var call in All)
        {
            data.Add(call.Name);
        }

        return data;
    }

    public static Call Named(string name) => All.Single(c => c.Name == name);

    public static bool TargetsOneRecord(this Call call) => call.Path.Contains("{id}", StringComparison.Ordinal);

    public static async Task<Guid> CreateAsync(HttpClient client, string resource, object body)
    {
        var response = await client.PostAsJsonAsync($"/api/v1/{resource}", body);
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(201, text);
        return (await response.Content.ReadFromJsonAsync<IdOnly>())!.Id;
    }

    /// <summary>Starts a contacts import (202) and returns its id.</summary>
    public static async Task<Guid> StartImportAsync(HttpClient client, string csv = ImportCsv)
    {
        var response = await client.PostAsync("/api/v1/imports/contacts", new StringContent(csv, Encoding.UTF8, "text/csv"));
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(202, text);
        return (await response.Content.ReadFromJsonAsync<ImportIdOnly>())!.ImportId;
    }

    private sealed record IdOnly(Guid Id);

    private sealed record ImportIdOnly(Guid ImportId);
}
