using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// Sign-in sessions (docs/SECURITY.md, "Sessions"): listing, revoking one, signing out everywhere and an admin's revoke,
/// each refusing the refresh tokens at once and the access tokens despite the validated-token cache, on every instance.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed partial class SessionsTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private ApiFactory _api = null!;

    public async Task InitializeAsync() =>
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Sessions_are_listed_with_device_address_client_and_the_current_one_marked()
    {
        // The test server has no remote address; this host's connections come from a documentation address.
        await using var addressed = new ApiFactory(platform, services: services =>
            services.AddTransient<Microsoft.AspNetCore.Hosting.IStartupFilter, FromAddress>());
        _api = addressed;
        var user = await CreateUserWithPasswordAsync();
        var laptop = await SignInAsync(user, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36");
        await SignInAsync(user, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1");

        var sessions = await Bearer(laptop.AccessToken).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions");
        var list = sessions.EnumerateArray().ToList();
        list.Count.ShouldBe(2);
        var current = list.Single(s => s.GetProperty("current").GetBoolean());
        current.GetProperty("device").GetString().ShouldBe("Chrome on Linux");
        current.GetProperty("clientId").GetString().ShouldBe("cleancrm-cli");
        current.GetProperty("ipAddress").GetString().ShouldBe("203.0.113.7");
        current.GetProperty("createdAt").GetDateTimeOffset().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
        list.Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("device").GetString().ShouldBe("Safari on iOS");

        // A refresh keeps the session (same id) and moves its last use.
        var before = current.GetProperty("lastUsedAt").GetDateTimeOffset();
        var refreshed = await RefreshAsync(laptop.RefreshToken);
        refreshed.StatusCode.ShouldBe(HttpStatusCode.OK, await refreshed.Content.ReadAsStringAsync());
        var renewed = (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        var after = (await Bearer(renewed).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).EnumerateArray().ToList();
        after.Count.ShouldBe(2);
        var same = after.Single(s => s.GetProperty("current").GetBoolean());
        same.GetProperty("id").GetGuid().ShouldBe(current.GetProperty("id").GetGuid());
        same.GetProperty("lastUsedAt").GetDateTimeOffset().ShouldBeGreaterThanOrEqualTo(before);
    }

    [Fact]
    public async Task Revoking_a_session_refuses_its_refresh_and_cached_access_tokens_and_leaves_the_others()
    {
        var user = await CreateUserWithPasswordAsync();
        var stolen = await SignInAsync(user, "stolen-laptop/1.0");
        var kept = await SignInAsync(user, "my-phone/1.0");
        var other = new ApiFactory(platform);
        await using var _ = other;

        // Both instances have validated (and cached) the stolen session's access token.
        (await Bearer(stolen.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Bearer(stolen.AccessToken, other).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var id = await SessionIdAsync(kept.AccessToken, "stolen-laptop/1.0");
        (await Bearer(kept.AccessToken).DeleteAsync($"/api/v1/me/sessions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var refused = await Bearer(stolen.AccessToken).GetAsync("/api/v1/me");
        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        refused.Headers.WwwAuthenticate.ToString().ShouldContain("invalid_token");
        await EventuallyAsync(async () => (await Bearer(stolen.AccessToken, other).GetAsync("/api/v1/me")).StatusCode
            == HttpStatusCode.Unauthorized, "the other instance refuses the revoked session's cached access token");
        var refresh = await RefreshAsync(stolen.RefreshToken);
        refresh.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().ShouldBe("invalid_grant");

        (await Bearer(kept.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await RefreshAsync(kept.RefreshToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var remaining = (await Bearer(kept.AccessToken).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).EnumerateArray().ToList();
        remaining.ShouldHaveSingleItem().GetProperty("userAgent").GetString().ShouldBe("my-phone/1.0");

        // Revoking it again is no error; a session id that was never one is 404.
        (await Bearer(kept.AccessToken).DeleteAsync($"/api/v1/me/sessions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var never = await Bearer(kept.AccessToken).DeleteAsync($"/api/v1/me/sessions/{Guid.NewGuid()}");
        await Problem.ReadAsync(never, HttpStatusCode.NotFound);
        (await Bearer(kept.AccessToken).DeleteAsync("/api/v1/me/sessions/not-a-session")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Another_users_session_is_404_and_stays_valid()
    {
        var owner = await CreateUserWithPasswordAsync();
        var intruder = await CreateUserWithPasswordAsync();
        var victim = await SignInAsync(owner, "victim/1.0");
        var attacker = await SignInAsync(intruder, "attacker/1.0");
        var victimSession = await SessionIdAsync(victim.AccessToken, "victim/1.0");

        var answer = await Bearer(attacker.AccessToken).DeleteAsync($"/api/v1/me/sessions/{victimSession}");
        await Problem.ReadAsync(answer, HttpStatusCode.NotFound);
        var listed = (await Bearer(attacker.AccessToken).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).EnumerateArray();
        listed.Select(s => s.GetProperty("id").GetGuid()).ShouldNotContain(victimSession);

        (await Bearer(victim.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await RefreshAsync(victim.RefreshToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _api.CreateClient().GetAsync("/api/v1/me/sessions")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Signing_out_everywhere_refuses_every_token_and_the_sign_in_cookie_but_a_new_sign_in_works()
    {
        var user = await CreateUserWithPasswordAsync();
        var first = await SignInAsync(user, "one/1.0");
        var second = await SignInAsync(user, "two/1.0");
        var browser = await CookieSignInAsync(user);
        (await browser.GetAsync(AuthorizeUrl)).Headers.Location!.ToString().ShouldStartWith(SpaRedirectUri, Case.Sensitive,
            "the cookie session signs the SPA in without a password");
        (await Bearer(second.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var answer = await Bearer(first.AccessToken).PostAsync("/api/v1/me/sessions/revoke-all", null);
        answer.StatusCode.ShouldBe(HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetInt32().ShouldBe(3);

        (await Bearer(first.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await Bearer(second.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await RefreshAsync(first.RefreshToken)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await RefreshAsync(second.RefreshToken)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await browser.GetAsync(AuthorizeUrl)).Headers.Location!.ToString().ShouldStartWith("/account/login", Case.Sensitive,
            "the sign-in cookie of before is no longer accepted");

        // Sessions started afterwards are not affected by the earlier revocation (even within the same second).
        var fresh = await SignInAsync(user, "three/1.0");
        (await Bearer(fresh.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Bearer(fresh.AccessToken).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task A_platform_admin_signs_a_user_out_everywhere_audited_and_nobody_else_may()
    {
        var user = await CreateUserWithPasswordAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var session = await SignInAsync(user, "victim/1.0");
        var path = $"/api/v1/admin/users/{user.Id}/revoke-sessions";

        await Problem.ReadAsync(await Bearer(session.AccessToken).PostAsync(path, null), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _api.ClientFor(user.Id).PostAsync(path, null), HttpStatusCode.Forbidden);
        (await Bearer(session.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK, "a refused call changes nothing");
        var unknown = $"/api/v1/admin/users/{Guid.NewGuid()}/revoke-sessions";
        var asAdmin = _api.CreateClient();
        asAdmin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        await Problem.ReadAsync(await asAdmin.PostAsync(unknown, null), HttpStatusCode.NotFound);

        var answer = await asAdmin.PostAsync(path, null);
        answer.StatusCode.ShouldBe(HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetInt32().ShouldBe(1);
        (await Bearer(session.AccessToken).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await RefreshAsync(session.RefreshToken)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
                "SELECT count(*) FROM platform_audit_log WHERE actor_user_id = $1 AND target_id = $2 AND outcome = 'succeeded'",
                admin.Id, user.Id))
            .ShouldBe(1);
    }

    private sealed class FromAddress : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(
            Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            Microsoft.AspNetCore.Builder.UseExtensions.Use(app, (context, following) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
                return following();
            });
            next(app);
        };
    }

    private const string SpaRedirectUri = "http://localhost:5173/callback";

    private static string AuthorizeUrl =>
        $"/connect/authorize?client_id=cleancrm-spa&response_type=code&redirect_uri={Uri.EscapeDataString(SpaRedirectUri)}" +
        "&scope=openid%20api&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

    private async Task<HttpClient> CookieSignInAsync(UserAccount user)
    {
        var browser = _api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var login = (await browser.GetAsync(AuthorizeUrl)).Headers.Location!.ToString();
        var html = await (await browser.GetAsync(login)).Content.ReadAsStringAsync();
        var antiforgery = AntiforgeryField().Match(html);
        antiforgery.Success.ShouldBeTrue(html);
        var signedIn = await browser.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
            ["returnUrl"] = WebUtility.HtmlDecode(ReturnUrlField().Match(html).Groups[1].Value),
            ["email"] = user.Email,
            ["password"] = Password,
        }));
        signedIn.StatusCode.ShouldBe(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        return browser;
    }

    private async Task<UserAccount> CreateUserWithPasswordAsync()
    {
        var user = await platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        return user;
    }

    private async Task<(string AccessToken, string RefreshToken)> SignInAsync(UserAccount user, string userAgent)
    {
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        var response = await client.PostAsync("/connect/token", Form(
            ("grant_type", "password"), ("client_id", "cleancrm-cli"), ("username", user.Email), ("password", Password),
            ("scope", "openid email profile offline_access api")));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("access_token").GetString()!, body.GetProperty("refresh_token").GetString()!);
    }

    private Task<HttpResponseMessage> RefreshAsync(string refreshToken) =>
        _api.CreateClient().PostAsync("/connect/token",
            Form(("grant_type", "refresh_token"), ("client_id", "cleancrm-cli"), ("refresh_token", refreshToken)));

    private async Task<Guid> SessionIdAsync(string accessToken, string userAgent) =>
        (await Bearer(accessToken).GetFromJsonAsync<JsonElement>("/api/v1/me/sessions")).EnumerateArray()
            .Single(s => s.GetProperty("userAgent").GetString() == userAgent).GetProperty("id").GetGuid();

    private HttpClient Bearer(string token, ApiFactory? api = null)
    {
        var client = (api ?? _api).CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within 20 s: {what}");
            }

            await Task.Delay(100);
        }
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    [GeneratedRegex("name=\"(__RequestVerificationToken[^\"]*)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrlField();
}
