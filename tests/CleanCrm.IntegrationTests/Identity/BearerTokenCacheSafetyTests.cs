using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using CleanCrm.Api.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Validation;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// The validated-token cache never answers differently from OpenIddict validation: each test turns on something a later
/// change could add (revocation checks, a claims transformation, a key rotation, another address) and expects the
/// answer OpenIddict gives, for a token the cache has already seen.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class BearerTokenCacheSafetyTests(SharedPlatform platform)
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task A_revoked_token_stops_working_when_validation_checks_token_entries()
    {
        await using var api = Host(services => services.AddOpenIddict().AddValidation(validation =>
            validation.EnableTokenEntryValidation()));
        var (user, token) = await SignInAsync(api);
        var client = Bearer(api, token);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        await using (var scope = api.Services.CreateAsyncScope())
        {
            var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
            var revoked = 0;
            await foreach (var entry in tokens.FindBySubjectAsync(user.Id.ToString()))
            {
                revoked += await tokens.TryRevokeAsync(entry) ? 1 : 0;
            }

            revoked.ShouldBeGreaterThan(0, "the server stored no token entry for the access token, so nothing could be revoked");
        }

        var refused = await client.GetAsync("/api/v1/me");
        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, "a revoked token was still accepted (answered from the cache?)");
        refused.Headers.WwwAuthenticate.ToString().ShouldContain("invalid_token");
        api.Services.GetRequiredService<ValidatedTokenCache>().Count.ShouldBe(0);
    }

    [Fact]
    public async Task Nothing_is_remembered_when_validation_checks_authorization_entries()
    {
        await using var api = Host(services => services.AddOpenIddict().AddValidation(validation =>
            validation.EnableAuthorizationEntryValidation()));
        var (_, token) = await SignInAsync(api);
        var client = Bearer(api, token);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        api.Services.GetRequiredService<ValidatedTokenCache>().TryGet($"Bearer {token}", DateTimeOffset.UtcNow, out _)
            .ShouldBeFalse("an authorization can be revoked at any time, so a remembered answer could be stale");
    }

    [Fact]
    public void Only_direct_validation_without_entry_checks_is_remembered()
    {
        // Introspection cannot be combined with the local server the API validates against (OpenIddict refuses it at
        // start-up), so it is checked on the decision itself.
        BearerTokenHandler.IsPureFunctionOfTheToken(new OpenIddictValidationOptions()).ShouldBeTrue();
        BearerTokenHandler.IsPureFunctionOfTheToken(new() { ValidationType = OpenIddictValidationType.Introspection }).ShouldBeFalse();
        BearerTokenHandler.IsPureFunctionOfTheToken(new() { EnableTokenEntryValidation = true }).ShouldBeFalse();
        BearerTokenHandler.IsPureFunctionOfTheToken(new() { EnableAuthorizationEntryValidation = true }).ShouldBeFalse();
    }

    [Fact]
    public async Task A_claims_transformation_runs_on_every_request_on_its_own_copy_of_the_principal()
    {
        var counter = new Counter();
        await using var api = Host(
            services => services.AddSingleton(counter).AddTransient<IClaimsTransformation, NumberingTransformation>(),
            app => app.Run(context => context.Response.WriteAsync(
                string.Join(",", context.User.FindAll(NumberingTransformation.ClaimType).Select(c => c.Value)))));
        var (_, token) = await SignInAsync(api);
        var client = Bearer(api, token);

        var seen = new List<string>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var response = await client.GetAsync("/api/v1/test-claims");
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            seen.Add(await response.Content.ReadAsStringAsync());
        }

        // One number per request, each new: the transformation ran every time, never on a principal it changed before.
        seen.ShouldAllBe(value => value.Length > 0 && !value.Contains(','), string.Join(" | ", seen));
        seen.Distinct().Count().ShouldBe(3, string.Join(" | ", seen));
        api.Services.GetRequiredService<ValidatedTokenCache>()
            .TryGet($"Bearer {token}", DateTimeOffset.UtcNow, out var remembered).ShouldBeTrue();
        remembered.FindAll(NumberingTransformation.ClaimType).ShouldBeEmpty("the remembered principal is OpenIddict's, untransformed");
    }

    [Fact]
    public async Task A_token_signed_with_a_key_that_is_no_longer_trusted_is_refused_even_when_remembered()
    {
        var rotation = new KeyRotation();
        await using var api = Host(services => services.Configure<OpenIddictServerOptions>(options =>
        {
            if (rotation.Replacement is { } key)
            {
                options.SigningCredentials.Clear();
                options.SigningCredentials.Add(new SigningCredentials(key, SecurityAlgorithms.RsaSha256));
            }
        }));
        var (_, token) = await SignInAsync(api);
        var client = Bearer(api, token);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        api.Services.GetRequiredService<ValidatedTokenCache>().TryGet($"Bearer {token}", DateTimeOffset.UtcNow, out _).ShouldBeTrue();

        // A reload of the key set, as an options change does: the old signing key is gone.
        rotation.Replacement = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "rotated-" + Guid.NewGuid().ToString("N")[..8] };
        api.Services.GetRequiredService<IOptionsMonitorCache<OpenIddictServerOptions>>().TryRemove(Options.DefaultName);
        api.Services.GetRequiredService<IOptionsMonitorCache<OpenIddictValidationOptions>>().TryRemove(Options.DefaultName);

        var refused = await client.GetAsync("/api/v1/me");
        refused.StatusCode.ShouldBe(
            HttpStatusCode.Unauthorized, "a token whose key was withdrawn was still accepted (answered from the cache?)");
        var (_, renewed) = await SignInAsync(api);
        (await Bearer(api, renewed).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK, "a token signed with the new key");
    }

    [Fact]
    public async Task A_remembered_token_gets_OpenIddicts_answer_at_another_address()
    {
        await using var api = Host();
        var (_, fresh) = await SignInAsync(api);
        var (_, remembered) = await SignInAsync(api);
        (await Bearer(api, remembered).GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Without a configured issuer, OpenIddict expects the address the request came to; what it answers for a token it
        // has never seen there is what the cache must answer for one it remembers from the usual address.
        var expected = (await Bearer(api, fresh).GetAsync("http://other.example/api/v1/me")).StatusCode;
        (await Bearer(api, remembered).GetAsync("http://other.example/api/v1/me")).StatusCode.ShouldBe(expected);
    }

    private WebApplicationFactory<Program> Host(
        Action<IServiceCollection>? services = null, Action<IApplicationBuilder>? behindPipeline = null) =>
        new ApiFactory(platform).WithWebHostBuilder(builder => builder.ConfigureServices(collection =>
        {
            services?.Invoke(collection);
            if (behindPipeline is not null)
            {
                collection.AddTransient<IStartupFilter>(_ => new TerminalRoute(behindPipeline));
            }
        }));

    private async Task<(UserAccount User, string AccessToken)> SignInAsync(WebApplicationFactory<Program> api)
    {
        var user = await platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(
            TestDatabaseServers.Primary, $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        var response = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = user.Email,
            ["password"] = Password,
            ["scope"] = "openid api",
        }));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (user, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!);
    }

    private static HttpClient Bearer(WebApplicationFactory<Program> api, string token)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private sealed class Counter
    {
        private int _value;

        public int Next() => Interlocked.Increment(ref _value);
    }

    // Changes the principal it is given, as the framework's documentation example does.
    private sealed class NumberingTransformation(Counter counter) : IClaimsTransformation
    {
        public const string ClaimType = "test_request_number";

        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var number = counter.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
            ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(ClaimType, number));
            return Task.FromResult(principal);
        }
    }

    private sealed class KeyRotation
    {
        public RsaSecurityKey? Replacement { get; set; }
    }

    // Reached by paths no endpoint matches, behind the whole pipeline (authentication included).
    private sealed class TerminalRoute(Action<IApplicationBuilder> route) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            route(app);
        };
    }
}
