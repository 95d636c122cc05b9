using System.Net;
using System.Net.Http.Json;
using CleanCrm.IntegrationTests.Support;

namespace CleanCrm.IntegrationTests.Identity;

[Collection(PlatformCollection.Name)]
public sealed class AbuseProtectionTests(SharedPlatform platform)
{
    [Fact]
    public async Task The_token_endpoint_is_rate_limited_per_client_address_with_retry_after()
    {
        using var api =
            new ApiFactory(platform, new Dictionary<string, string?> { ["CleanCrm:AbuseProtection:TokenRequestsPerMinutePerIp"] = "3" });
        var client = api.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            (await client.PostAsync("/connect/token", Form())).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        var limited = await client.PostAsync("/connect/token", Form());
        limited.Headers.RetryAfter.ShouldNotBeNull();
        (await Problem.ReadAsync(limited, HttpStatusCode.TooManyRequests)).Type.ShouldEndWith("/rate_limited");
        (await client.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK, "other endpoints are not limited by it");
    }

    [Fact]
    public async Task Password_guesses_are_limited_per_account_whatever_the_address_and_other_accounts_are_unaffected()
    {
        using var api = new ApiFactory(
            platform, new Dictionary<string, string?> { ["CleanCrm:AbuseProtection:SignInAttemptsPerMinutePerAccount"] = "3" });
        var client = api.CreateClient();
        var target = $"target-{Guid.NewGuid():N}@example.com";
        var other = $"other-{Guid.NewGuid():N}@example.com";
        for (var i = 0; i < 3; i++)
        {
            // Different letter case is the same account.
            var attempt = await client.PostAsync("/connect/token", PasswordForm(i % 2 == 0 ? target : target.ToUpperInvariant()));
            attempt.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await attempt.Content.ReadAsStringAsync());
        }

        var limited = await client.PostAsync("/connect/token", PasswordForm(target));
        limited.Headers.RetryAfter.ShouldNotBeNull();
        var problem = await Problem.ReadAsync(limited, HttpStatusCode.TooManyRequests);
        problem.Type.ShouldEndWith("/rate_limited");
        problem.Detail.ShouldContain("account");
        (await client.PostAsync("/connect/token", PasswordForm(other)))
            .StatusCode.ShouldBe(HttpStatusCode.BadRequest, "another account keeps its own budget");
    }

    private static FormUrlEncodedContent PasswordForm(string email) => new(new Dictionary<string, string>
    {
        ["grant_type"] = "password",
        ["client_id"] = "cleancrm-cli",
        ["username"] = email,
        ["password"] = "wrong password 123",
        ["scope"] = "openid api",
    });

    [Fact]
    public async Task Cors_allows_only_the_configured_spa_origin_and_html_pages_get_security_headers()
    {
        using var api = new ApiFactory(
            platform, new Dictionary<string, string?> { ["CleanCrm:AbuseProtection:AllowedOrigins:0"] = "https://app.cleancrm.test" });
        var client = api.CreateClient();
        async Task<HttpResponseMessage> Preflight(string origin)
        {
            var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/companies");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "GET");
            request.Headers.Add("Access-Control-Request-Headers", "authorization,x-org");
            return await client.SendAsync(request);
        }

        var allowed = await Preflight("https://app.cleancrm.test");
        allowed.Headers.GetValues("Access-Control-Allow-Origin").ShouldBe(["https://app.cleancrm.test"]);
        (await Preflight("https://evil.example")).Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();

        var swagger = await client.GetAsync("/swagger/index.html");
        swagger.Headers.GetValues("X-Frame-Options").ShouldBe(["DENY"]);
        swagger.Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"]);
        (await client.GetAsync("/health/live")).Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"]);
    }

    private static FormUrlEncodedContent Form() => new(new Dictionary<string, string>
    {
        ["grant_type"] = "password",
        ["client_id"] = "cleancrm-cli",
        ["username"] = "nobody@example.com",
        ["password"] = "wrong password 1",
    });
}
