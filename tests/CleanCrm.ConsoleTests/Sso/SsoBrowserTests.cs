using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using CleanCrm.IntegrationTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests.Sso;

/// <summary>
/// Enterprise SSO in headless Chromium against the real processes (docs/SECURITY.md, "Enterprise SSO" and "Sessions"):
/// home-realm discovery on the sign-in page sends a domain's user to the organization's identity provider (a second
/// OpenID Connect provider started by the test, which signs its user in at once) and back to the SPA with a code; an
/// enforced domain refuses passwords; the sessions of two SSO sign-ins are listed and one is revoked.
/// </summary>
public sealed class SsoBrowserTests(ConsoleStack stack) : ConsoleTest(stack), IAsyncLifetime
{
    // The SPA's default redirect URI (IdentityBootstrap); nothing listens there, the browser's request is answered by the test.
    private const string SpaRedirectUri = "http://localhost:5173/callback";
    private TestOidcProvider _idp = null!;

    public async Task InitializeAsync() => _idp = await TestOidcProvider.StartAsync();

    public async Task DisposeAsync() => await _idp.DisposeAsync();

    [Fact]
    public Task An_email_of_the_sso_domain_goes_to_the_identity_provider_and_back_to_the_spa_with_a_jit_membership() =>
        ScenarioAsync(nameof(An_email_of_the_sso_domain_goes_to_the_identity_provider_and_back_to_the_spa_with_a_jit_membership),
            async page =>
            {
                var sso = await ConfigureAsync(enforce: false);
                _idp.Email = $"jit-{Guid.NewGuid():N}@{sso.Domain}";

                var tokens = await SignInThroughProviderAsync(page, _idp.Email);

                using var api = Bearer(tokens.GetProperty("access_token").GetString()!);
                var me = await api.GetFromJsonAsync<JsonElement>("/api/v1/me");
                me.GetProperty("email").GetString().ShouldBe(_idp.Email);
                var membership = me.GetProperty("organizations").EnumerateArray().ShouldHaveSingleItem("the JIT membership");
                membership.GetProperty("slug").GetString().ShouldBe(sso.Organization.Slug);
                membership.GetProperty("role").GetString().ShouldBe("member", "the provider's default role");
            });

    [Fact]
    public Task With_enforce_on_a_password_for_the_domain_is_refused_naming_the_identity_provider_and_no_session_starts() =>
        ScenarioAsync(nameof(With_enforce_on_a_password_for_the_domain_is_refused_naming_the_identity_provider_and_no_session_starts),
            async page =>
            {
                var sso = await ConfigureAsync(enforce: true);
                _idp.Email = $"enforced-{Guid.NewGuid():N}@{sso.Domain}";
                var atProvider = new List<string>();
                page.Request += (_, request) =>
                {
                    if (request.Url.StartsWith(_idp.Issuer, StringComparison.Ordinal))
                    {
                        atProvider.Add(request.Url);
                    }
                };

                await page.GotoAsync(AuthorizeUrl(Challenge(NewVerifier())));
                await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(ApiBase)}/account/login"));
                await page.GetByLabel("Email").FillAsync(_idp.Email);
                await page.GetByLabel("Password").FillAsync("Some password 123 of mine");
                var answer = await page.RunAndWaitForResponseAsync(
                    () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync(),
                    r => r.Request.Method == "POST" && r.Request.IsNavigationRequest);
                answer.Status.ShouldBe(400);
                await Expect(page.Locator("#password-error")).ToHaveTextAsync(
                    $"Your organization signs you in with {sso.DisplayName}; passwords are not accepted.");
                await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"Continue with {sso.DisplayName}" })).ToBeVisibleAsync();
                await ScreenshotAsync(page, "sso-enforced-password");

                atProvider.ShouldBeEmpty("the password form does not go to the identity provider");
                (await page.Context.CookiesAsync()).Select(c => c.Name).ShouldNotContain("cleancrm.session", "no sign-in session");
                await page.GotoAsync(AuthorizeUrl(Challenge(NewVerifier())));
                await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(ApiBase)}/account/login"),
                    new() { Timeout = 15_000 });
            });

    [Fact]
    public Task Two_sso_sign_ins_are_two_sessions_and_revoking_one_refuses_its_refresh_token() =>
        ScenarioAsync(nameof(Two_sso_sign_ins_are_two_sessions_and_revoking_one_refuses_its_refresh_token), async page =>
        {
            var sso = await ConfigureAsync(enforce: true);
            _idp.Email = $"sessions-{Guid.NewGuid():N}@{sso.Domain}";
            var first = await SignInThroughProviderAsync(page, _idp.Email);
            var secondPage = await Stack.NewPageAsync();
            JsonElement second;
            try
            {
                second = await SignInThroughProviderAsync(secondPage, _idp.Email);
            }
            finally
            {
                await secondPage.Context.CloseAsync();
            }

            using var api = Bearer(first.GetProperty("access_token").GetString()!);
            var sessions = (await api.GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).EnumerateArray().ToList();
            sessions.Count.ShouldBe(2, "one session per sign-in");
            sessions.Count(s => s.GetProperty("current").GetBoolean()).ShouldBe(1);
            var other = sessions.Single(s => !s.GetProperty("current").GetBoolean());
            other.GetProperty("clientId").GetString().ShouldBe("cleancrm-spa");

            var revoked = await api.DeleteAsync($"/api/v1/me/sessions/{other.GetProperty("id").GetGuid()}");
            revoked.StatusCode.ShouldBe(HttpStatusCode.NoContent, await revoked.Content.ReadAsStringAsync());

            (await RefreshStatusAsync(second.GetProperty("refresh_token").GetString()!))
                .ShouldBe(HttpStatusCode.BadRequest, "the revoked session's refresh token");
            (await RefreshStatusAsync(first.GetProperty("refresh_token").GetString()!))
                .ShouldBe(HttpStatusCode.OK, "the other session goes on");
            var left = (await api.GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).EnumerateArray().ToList();
            left.ShouldHaveSingleItem().GetProperty("current").GetBoolean().ShouldBeTrue();
        });

    private string ApiBase => Stack.ApiUrl.ToString().TrimEnd('/');

    /// <summary>
    /// Starts the SPA's authorization request, types the email (no password) on the sign-in page, follows the browser through
    /// the identity provider back to the SPA's redirect URI and redeems the code there; returns the token response.
    /// </summary>
    private async Task<JsonElement> SignInThroughProviderAsync(IPage page, string email)
    {
        var atProvider = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.StartsWith(_idp.Issuer + "/authorize?", StringComparison.Ordinal))
            {
                atProvider.Add(request.Url);
            }
        };
        await page.RouteAsync(SpaRedirectUri + "**", route => route.FulfillAsync(new()
        {
            Status = 200,
            ContentType = "text/html",
            Body = "<!doctype html><title>SPA</title><h1>SPA callback</h1>",
        }));

        var verifier = NewVerifier();
        await page.GotoAsync(AuthorizeUrl(Challenge(verifier)));
        await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(ApiBase)}/account/login"));
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(SpaRedirectUri)}\\?code="), new() { Timeout = 30_000 });
        await ExpectHeadingAsync(page, "SPA callback");
        atProvider.ShouldHaveSingleItem("the browser went through the identity provider");

        var callback = new Uri(page.Url);
        var query = System.Web.HttpUtility.ParseQueryString(callback.Query);
        query["state"].ShouldBe("spa-state");
        using var http = new HttpClient { BaseAddress = Stack.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var token = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "cleancrm-spa",
            ["code"] = query["code"]!,
            ["redirect_uri"] = SpaRedirectUri,
            ["code_verifier"] = verifier,
        }));
        var body = await token.Content.ReadAsStringAsync();
        token.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        var tokens = JsonDocument.Parse(body).RootElement.Clone();
        tokens.TryGetProperty("refresh_token", out _).ShouldBeTrue(body);
        return tokens;
    }

    /// <summary>An active organization on the Enterprise plan whose domain signs in at the test identity provider.</summary>
    private async Task<SsoSetup> ConfigureAsync(bool enforce)
    {
        var organization = await Stack.Api.ActiveOrganizationAsync("sso");
        // Plan changes go through billing; the catalog row is set directly so the test needs no payment provider.
        await Stack.ExecuteCatalogAsync($"UPDATE organizations SET plan_key = 'enterprise' WHERE slug = '{organization.Slug}'");
        var domain = $"{organization.Slug}.sso.test";
        var displayName = $"Okta of {organization.Slug}";
        using var api = Bearer(organization.OwnerToken);
        var saved = await api.PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/sso", new
        {
            displayName,
            issuer = _idp.Issuer,
            clientId = _idp.ClientId,
            clientSecret = _idp.ClientSecret,
            allowedDomains = new[] { domain },
            enforce,
            jitProvisioning = true,
        });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        return new SsoSetup(organization, domain, displayName);
    }

    private static string NewVerifier() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Challenge(string verifier) => Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private string AuthorizeUrl(string challenge) =>
        $"{ApiBase}/connect/authorize?client_id=cleancrm-spa&response_type=code&redirect_uri={Uri.EscapeDataString(SpaRedirectUri)}"
        + $"&scope={Uri.EscapeDataString("openid email profile api offline_access")}&state=spa-state&code_challenge={challenge}"
        + "&code_challenge_method=S256";

    private HttpClient Bearer(string token)
    {
        var client = new HttpClient { BaseAddress = Stack.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private async Task<HttpStatusCode> RefreshStatusAsync(string refreshToken)
    {
        using var client = new HttpClient { BaseAddress = Stack.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = "cleancrm-spa",
            ["refresh_token"] = refreshToken,
        }));
        return response.StatusCode;
    }

    private sealed record SsoSetup(TestOrganization Organization, string Domain, string DisplayName);
}
