using System.Net.Http.Json;
using System.Text;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>Every org-scoped endpoint, so isolation tests cover each one (a new endpoint must be added here).</summary>
public static class OrgScopedEndpoints
{
    public sealed record Call(string Name, HttpMethod Method, string Path, Func<string?> Body)
    {
        public HttpRequestMessage Request(Guid targetId)
        {
            var request = new HttpRequestMessage(Method, Path.Replace("{id}", targetId.ToString(), StringComparison.Ordinal));
            if (Body() is { } body)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            return request;
        }

        public override string ToString() => Name;
    }

    public static IEnumerable<Call> For(string resource) =>
    [
        new($"list {resource}", HttpMethod.Get, $"/api/v1/{resource}", () => null),
        new($"create {resource}", HttpMethod.Post, $"/api/v1/{resource}", () => resource == "companies" ? "{\"name\":\"Intruder Inc\"}" : "{\"firstName\":\"Intruder\"}"),
        new($"get {resource}", HttpMethod.Get, $"/api/v1/{resource}/{{id}}", () => null),
        new($"patch {resource}", HttpMethod.Patch, $"/api/v1/{resource}/{{id}}", () => resource == "companies" ? "{\"name\":\"Hijacked\"}" : "{\"firstName\":\"Hijacked\"}"),
        new($"delete {resource}", HttpMethod.Delete, $"/api/v1/{resource}/{{id}}", () => null),
    ];

    public static IEnumerable<Call> All => For("companies").Concat(For("contacts"));

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

    private sealed record IdOnly(Guid Id);
}
