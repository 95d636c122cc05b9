using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace CleanCrm.ConsoleTests.Support;

/// <summary>An organization signed up through the public API, with its owner's credentials.</summary>
public sealed record TestOrganization(Guid Id, string Slug, string Name, string OwnerEmail, string OwnerPassword)
{
    /// <summary>The owner's access token (cleancrm-cli, password grant), set once the organization was signed up.</summary>
    public string OwnerToken { get; init; } = string.Empty;
}

/// <summary>
/// What an organization's own users do with the API (docs/API.md): sign up, get a token with the password grant of
/// <c>cleancrm-cli</c>, call org-scoped routes with <c>X-Org</c>. The tests check the console's effects through these.
/// </summary>
public sealed class ApiCalls(Uri apiUrl) : IDisposable
{
    private const string UserScopes = "openid profile email offline_access api";
    private readonly HttpClient _http = new() { BaseAddress = apiUrl, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Signs up a new organization (free plan) and signs its owner in; provisioning runs in the background.</summary>
    public async Task<TestOrganization> SignUpAsync(string prefix)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var slug = $"{prefix}-{suffix}";
        var organization = new TestOrganization(Guid.Empty, slug, $"Console {prefix} {suffix}", $"owner-{suffix}@{prefix}.console.test",
            $"Sunny meadow {suffix} 42!");
        using var response = await _http.PostAsJsonAsync("/api/v1/signup", new
        {
            organizationName = organization.Name,
            slug,
            ownerEmail = organization.OwnerEmail,
            ownerName = $"Owner {suffix}",
            ownerPassword = organization.OwnerPassword,
            plan = "free",
        });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, $"signup of {slug}: {body}");
        using var document = JsonDocument.Parse(body);
        var id = document.RootElement.GetProperty("organizationId").GetGuid();
        return organization with { Id = id, OwnerToken = await TokenAsync(organization.OwnerEmail, organization.OwnerPassword) };
    }

    /// <summary>Signs up an organization and waits until it is active.</summary>
    public async Task<TestOrganization> ActiveOrganizationAsync(string prefix)
    {
        var organization = await SignUpAsync(prefix);
        await WaitForStatusAsync(organization, "active", TimeSpan.FromSeconds(90));
        return organization;
    }

    public async Task<string> TokenAsync(string email, string password)
    {
        using var response = await _http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = email,
            ["password"] = password,
            ["scope"] = UserScopes,
        }));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, $"token for {email}: {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Polls the organization's provisioning status (as its owner) until it is <paramref name="expected"/>.</summary>
    public async Task WaitForStatusAsync(TestOrganization organization, string expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = new List<string>();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/orgs/{organization.Slug}/provisioning");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", organization.OwnerToken);
            using var response = await _http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
            using var document = JsonDocument.Parse(body);
            var status = document.RootElement.GetProperty("status").GetString()!;
            if (seen.LastOrDefault() != status)
            {
                seen.Add(status);
            }

            if (status == expected)
            {
                return;
            }

            if (status == "failed" || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException(
                    $"{organization.Slug} did not become {expected} (statuses seen: {string.Join(" → ", seen)}): {body}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>An org-scoped GET as the organization's owner (<c>X-Org</c> = its slug).</summary>
    public Task<(HttpStatusCode Status, JsonElement Body)> GetAsOwnerAsync(TestOrganization organization, string path) =>
        SendAsOwnerAsync(organization, new HttpRequestMessage(HttpMethod.Get, path));

    /// <summary>An org-scoped POST of a JSON body as the organization's owner.</summary>
    public Task<(HttpStatusCode Status, JsonElement Body)> PostAsOwnerAsync(TestOrganization organization, string path, object body) =>
        SendAsOwnerAsync(organization, new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) });

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsOwnerAsync(TestOrganization organization,
        HttpRequestMessage request)
    {
        using (request)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", organization.OwnerToken);
            request.Headers.Add("X-Org", organization.Slug);
            using var response = await _http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            using var document = JsonDocument.Parse(string.IsNullOrEmpty(text) ? "null" : text);
            return (response.StatusCode, document.RootElement.Clone());
        }
    }

    public void Dispose() => _http.Dispose();
}
