using System.Net;
using System.Text.Json;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>Reads a problem-details response and asserts its shape (RFC 9457 and docs/API.md, "Errors").</summary>
public sealed record Problem(int Status, string Type, string Title, string Detail, string TraceId, string? Code,
    Dictionary<string, string[]>? Errors)
{
    public static async Task<Problem> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe((int)expected, body);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", body);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var problem = new Problem(
            root.GetProperty("status").GetInt32(),
            root.GetProperty("type").GetString()!,
            root.GetProperty("title").GetString()!,
            root.GetProperty("detail").GetString()!,
            root.GetProperty("traceId").GetString()!,
            root.TryGetProperty("code", out var code) ? code.GetString() : null,
            root.TryGetProperty("errors", out var errors) ? errors.Deserialize<Dictionary<string, string[]>>() : null);
        problem.Status.ShouldBe((int)expected);
        problem.Detail.ShouldNotBeNullOrWhiteSpace();
        problem.TraceId.ShouldNotBeNullOrWhiteSpace();
        return problem;
    }
}
