using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>The OpenID Connect server over HTTP: password grant, refresh, lockout, validation of real JWTs.</summary>
[Collection(PlatformCollection.Name)]
public sealed class TokenFlowTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private ApiFactory _api = null!;
    private UserAccount _user = null!;
    private Organization _organization = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _user = await CreateUserWithPasswordAsync();
        _organization = await platform.CreateOrganizationAsync(members: [(_user, OrgRole.Owner)]);
    }

    [Fact]
    public async Task Discovery_and_jwks_describe_the_server()
    {
        var client = _api.CreateClient();
        var discovery = await client.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");
        discovery.GetProperty("token_endpoint").GetString()!.ShouldEndWith("/connect/token");
        discovery.GetProperty("grant_types_supported").EnumerateArray().Select(g => g.GetString()).ShouldContain("password");
        var jwks = await client.GetFromJsonAsync<JsonElement>(discovery.GetProperty("jwks_uri").GetString()!);
        jwks.GetProperty("keys").GetArrayLength().ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task A_password_grant_yields_a_signed_jwt_that_the_api_accepts()
    {
        var tokens = await PasswordGrantAsync(_user.Email, Password);
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(accessToken.Split('.')[0])).RootElement;
        header.GetProperty("typ").GetString().ShouldBe("at+jwt");
        var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(accessToken.Split('.')[1])).RootElement;
        payload.GetProperty("sub").GetString().ShouldBe(_user.Id.ToString());
        payload.GetProperty("email").GetString().ShouldBe(_user.Email);
        payload.TryGetProperty("security_stamp", out _).ShouldBeFalse();
        tokens.GetProperty("expires_in").GetInt32().ShouldBeLessThanOrEqualTo(15 * 60);

        var client = Bearer(accessToken);
        var me = await client.GetFromJsonAsync<JsonElement>("/api/v1/me");
        me.GetProperty("id").GetGuid().ShouldBe(_user.Id);
        var org = me.GetProperty("organizations").EnumerateArray().Single();
        org.GetProperty("slug").GetString().ShouldBe(_organization.Slug);
        org.GetProperty("role").GetString().ShouldBe("owner");
        org.GetProperty("status").GetString().ShouldBe("active");

        client.DefaultRequestHeaders.Add("X-Org", _organization.Slug);
        (await client.PostAsJsonAsync("/api/v1/companies", new { name = "Via a real token" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await PlatformEnvironment.CountRowsAsync(_organization, $"SELECT count(*) FROM companies WHERE created_by = '{_user.Id}'"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task A_token_issued_by_another_api_instance_is_accepted()
    {
        using var other = new ApiFactory(platform);
        var token = (await PasswordGrantAsync(_user.Email, Password, other)).GetProperty("access_token").GetString()!;
        (await Bearer(token).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_validated_token_is_remembered_until_it_expires_and_look_alikes_are_still_validated()
    {
        var token = (await PasswordGrantAsync(_user.Email, Password)).GetProperty("access_token").GetString()!;
        var cache = _api.Services.GetRequiredService<CleanCrm.Api.Security.ValidatedTokenCache>();
        var now = DateTimeOffset.UtcNow;
        var key = $"Bearer {token}";
        cache.TryGet(key, now, out _).ShouldBeFalse();

        (await Bearer(token).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        cache.TryGet(key, DateTimeOffset.UtcNow, out var principal).ShouldBeTrue();
        principal.FindFirst("sub")!.Value.ShouldBe(_user.Id.ToString());
        (await Bearer(token).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Kept only as long as the token lives (exp is 15 minutes after issue here).
        var exp = DateTimeOffset.FromUnixTimeSeconds(JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]))
            .RootElement.GetProperty("exp").GetInt64());
        cache.TryGet(key, exp.AddSeconds(1), out _).ShouldBeFalse();
        cache.TryGet(key, DateTimeOffset.UtcNow, out _)
            .ShouldBeFalse("an expired entry is dropped, so the token is validated again (and refused once expired)");
        (await Bearer(token).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // A different signature on the same header and payload is a different token: validated, refused, never cached.
        var signature = token[(token.LastIndexOf('.') + 1)..];
        var forged = token[..(token.LastIndexOf('.') + 1)] + (signature[0] == 'A' ? 'B' : 'A') + signature[1..];
        var refused = await Bearer(forged).GetAsync("/api/v1/me");
        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        refused.Headers.WwwAuthenticate.ToString().ShouldContain("invalid_token");
        cache.TryGet($"Bearer {forged}", DateTimeOffset.UtcNow, out _).ShouldBeFalse();
    }

    [Fact]
    public async Task A_request_authenticated_from_the_cache_still_gets_the_OpenID_servers_forbid_and_challenge()
    {
        // Behind the whole pipeline (reached by paths no endpoint matches), as an endpoint refusing the caller would.
        using var api = _api.WithWebHostBuilder(builder => builder.ConfigureServices(services =>
            services.AddTransient<Microsoft.AspNetCore.Hosting.IStartupFilter, RefusingRoutes>()));
        var token = (await PasswordGrantAsync(_user.Email, Password)).GetProperty("access_token").GetString()!;
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // The first request validates the token with OpenIddict; the next ones are answered from the cache, without
        // OpenIddict's per-request processing, which its forbid and challenge need. They must answer alike.
        var answers = new List<string>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var forbidden = await client.GetAsync("/api/v1/test-refusals/forbid");
            forbidden.StatusCode.ShouldBe(HttpStatusCode.Forbidden, $"attempt {attempt}: {await forbidden.Content.ReadAsStringAsync()}");
            forbidden.Headers.WwwAuthenticate.ToString().ShouldContain("insufficient_access");

            // A challenge of a caller whose token is valid is OpenIddict's "insufficient_access" too.
            var challenged = await client.GetAsync("/api/v1/test-refusals/challenge");
            answers.Add($"{(int)forbidden.StatusCode} {forbidden.Headers.WwwAuthenticate} | {(int)challenged.StatusCode} " +
                $"{challenged.Headers.WwwAuthenticate}");
        }

        answers.Distinct().Count().ShouldBe(1, string.Join(Environment.NewLine, answers));

        api.Services.GetRequiredService<CleanCrm.Api.Security.ValidatedTokenCache>()
            .TryGet($"Bearer {token}", DateTimeOffset.UtcNow, out _).ShouldBeTrue();
    }

    private sealed class RefusingRoutes : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(
            Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            next(app);
            Microsoft.AspNetCore.Builder.RunExtensions.Run(app, async context =>
            {
                context.User.Identity?.IsAuthenticated.ShouldBeTrue();
                if (context.Request.Path.Value!.EndsWith("/forbid", StringComparison.Ordinal))
                {
                    await Microsoft.AspNetCore.Authentication.AuthenticationHttpContextExtensions.ForbidAsync(context);
                }
                else
                {
                    await Microsoft.AspNetCore.Authentication.AuthenticationHttpContextExtensions.ChallengeAsync(context);
                }
            });
        };
    }

    [Fact]
    public async Task Tampered_or_garbage_tokens_are_401()
    {
        var token = (await PasswordGrantAsync(_user.Email, Password)).GetProperty("access_token").GetString()!;
        var parts = token.Split('.');
        var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.GetRawText()
            .Replace(_user.Id.ToString(), Guid.NewGuid().ToString(), StringComparison.Ordinal);
        var forged = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
        (await Bearer(forged).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await Bearer("not.a.token").GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await _api.CreateClient().GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Unknown_email_and_wrong_password_get_the_same_answer_and_five_failures_lock_the_account()
    {
        var user = await CreateUserWithPasswordAsync();
        var unknown = await RawPasswordGrantAsync($"nobody-{Guid.NewGuid():N}@example.com", Password);
        var wrong = await RawPasswordGrantAsync(user.Email, "wrong password 123");
        unknown.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        wrong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var unknownBody = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        var wrongBody = await wrong.Content.ReadFromJsonAsync<JsonElement>();
        unknownBody.GetProperty("error").GetString().ShouldBe("invalid_grant");
        unknownBody.GetProperty("error_description").GetString().ShouldBe(wrongBody.GetProperty("error_description").GetString());

        for (var i = 0; i < 4; i++)
        {
            await RawPasswordGrantAsync(user.Email.ToUpperInvariant(), "wrong password 123");
        }

        (await RawPasswordGrantAsync(user.Email, Password)).StatusCode.ShouldBe(HttpStatusCode.BadRequest, "locked after five failures");
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM users WHERE id = $1 AND lockout_ends_at > now()", user.Id)).ShouldBe(1);
    }

    [Fact]
    public async Task Refresh_tokens_work_until_the_credentials_change()
    {
        var user = await CreateUserWithPasswordAsync();
        var tokens = await PasswordGrantAsync(user.Email, Password);
        var refresh = tokens.GetProperty("refresh_token").GetString()!;
        var renewed = await _api.CreateClient()
            .PostAsync("/connect/token", Form(("grant_type", "refresh_token"), ("client_id", "cleancrm-cli"), ("refresh_token", refresh)));
        renewed.StatusCode.ShouldBe(HttpStatusCode.OK, await renewed.Content.ReadAsStringAsync());
        var next = (await renewed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString()!;

        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET security_stamp = 'changed' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        var refused = await _api.CreateClient()
            .PostAsync("/connect/token", Form(("grant_type", "refresh_token"), ("client_id", "cleancrm-cli"), ("refresh_token", next)));
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().ShouldBe("invalid_grant");
    }

    [Fact]
    public async Task Unknown_clients_and_grants_are_refused()
    {
        (await _api.CreateClient().PostAsync(
            "/connect/token", Form(("grant_type", "password"), ("client_id", "evil"), ("username", _user.Email), ("password", Password))))
            .StatusCode.ShouldBeOneOf(HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized);
        (await _api.CreateClient().PostAsync("/connect/token", Form(("grant_type", "client_credentials"), ("client_id", "cleancrm-cli"))))
            .StatusCode.ShouldBeOneOf(HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<UserAccount> CreateUserWithPasswordAsync()
    {
        var user = await platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        return user;
    }

    private async Task<JsonElement> PasswordGrantAsync(string email, string password, ApiFactory? api = null)
    {
        var response = await RawPasswordGrantAsync(email, password, api);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<HttpResponseMessage> RawPasswordGrantAsync(string email, string password, ApiFactory? api = null) =>
        (api ?? _api).CreateClient().PostAsync("/connect/token", Form(
            ("grant_type", "password"), ("client_id", "cleancrm-cli"), ("username", email), ("password", password),
            ("scope", "openid email profile offline_access api")));

    private HttpClient Bearer(string token)
    {
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
}
