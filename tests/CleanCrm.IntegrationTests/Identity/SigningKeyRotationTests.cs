using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Api.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Api;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// Signing-key rotation without downtime (docs/OPERATIONS.md, "Rotating the token-signing key"), on two API instances and
/// the operator CLI. A platform of its own: a rotation changes the keys of every host on a catalog.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SigningKeyRotationTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private readonly PlatformEnvironment _platform = new();

    public Task InitializeAsync() => _platform.InitializeAsync();

    public Task DisposeAsync() => _platform.DisposeAsync();

    [Fact]
    public async Task Old_tokens_keep_working_through_a_rotation_both_keys_are_published_and_after_the_window_only_the_new_one()
    {
        var refresh = new Dictionary<string, string?> { ["CleanCrm:Identity:SigningKeyRefreshSeconds"] = "1" };
        await using var first = new ApiFactory(_platform, refresh);
        await using var second = new ApiFactory(_platform, refresh);
        var user = await _platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", _platform.CatalogDatabase);

        var configured = (await KeyIdsAsync(first)).ShouldHaveSingleItem();
        var cached = await TokenAsync(first, user);
        var unused = await TokenAsync(second, user);
        KeyIdOf(cached).ShouldBe(configured);
        KeyIdOf(unused).ShouldBe(configured);
        (await MeAsync(first, cached)).ShouldBe(HttpStatusCode.OK);
        (await MeAsync(second, cached)).ShouldBe(HttpStatusCode.OK);

        // The operator adds the next key: published by both instances ahead of its activation, not signing yet.
        var (exit, output) = await WorkerCliTests.RunAsync(["rotate-signing-key", "--activate-in", "10"], WorkerEnvironment());
        exit.ShouldBe(0, output);
        var next = await ScalarAsync<string>("SELECT id FROM signing_keys");
        output.ShouldContain(next);
        await EventuallyAsync(async () => (await KeyIdsAsync(first)).Count == 2 && (await KeyIdsAsync(second)).Count == 2,
            "both instances publish the next key");
        (await KeyIdsAsync(second)).ShouldBe([configured, next], ignoreOrder: true);
        KeyIdOf(await TokenAsync(second, user)).ShouldBe(configured, "the next key signs nothing before its activation");

        // Its activation time comes: both instances sign with it, and still accept what the old key signed.
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE signing_keys SET activates_at = now() WHERE id = '{next}'", _platform.CatalogDatabase);
        await EventuallyAsync(
            async () => KeyIdOf(await TokenAsync(first, user)) == next && KeyIdOf(await TokenAsync(second, user)) == next,
            "both instances sign with the new key");
        var signedWithNext = await TokenAsync(first, user);
        (await MeAsync(second, signedWithNext)).ShouldBe(HttpStatusCode.OK, "another instance accepts the new key's tokens");
        (await MeAsync(first, cached)).ShouldBe(HttpStatusCode.OK);
        (await MeAsync(first, unused)).ShouldBe(HttpStatusCode.OK, "a token signed before the rotation, never seen here, validates");
        (await KeyIdsAsync(first)).ShouldBe([next, configured], ignoreOrder: true);

        // The old key cannot be retired while its access tokens may live, nor the signing key at all.
        (exit, output) = await WorkerCliTests.RunAsync(["retire-signing-key", configured], WorkerEnvironment());
        exit.ShouldBe(1, output);
        output.ShouldContain("valid until");
        (exit, output) = await WorkerCliTests.RunAsync(["retire-signing-key", next], WorkerEnvironment());
        exit.ShouldBe(1, output);
        output.ShouldContain("signs the tokens issued now");
        (exit, output) = await WorkerCliTests.RunAsync(["retire-signing-key", "not a kid!"], WorkerEnvironment());
        exit.ShouldBe(1, output);

        // After the window (the access-token lifetime since the new key activated) it is retired: only the new key remains.
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE signing_keys SET activates_at = now() - interval '16 minutes' WHERE id = '{next}'", _platform.CatalogDatabase);
        (exit, output) = await WorkerCliTests.RunAsync(["retire-signing-key", configured], WorkerEnvironment());
        exit.ShouldBe(0, output);
        await EventuallyAsync(async () => (await KeyIdsAsync(first)).Count == 1 && (await KeyIdsAsync(second)).Count == 1,
            "both instances stop publishing the retired key");
        (await KeyIdsAsync(second)).ShouldBe([next]);
        (await MeAsync(first, cached)).ShouldBe(HttpStatusCode.Unauthorized, "the validated-token cache honours the retirement");
        (await MeAsync(second, unused)).ShouldBe(HttpStatusCode.Unauthorized);
        (await MeAsync(second, signedWithNext)).ShouldBe(HttpStatusCode.OK);

        (exit, output) = await WorkerCliTests.RunAsync(["signing-keys"], WorkerEnvironment());
        exit.ShouldBe(0, output);
        output.ShouldContain("signing");
        output.ShouldContain("retired");
    }

    [Fact]
    public async Task A_restarted_instance_signs_with_the_current_key_at_once_and_the_configured_key_stays_first_without_rotations()
    {
        await using (var fresh = new ApiFactory(_platform))
        {
            var configured = (await KeyIdsAsync(fresh)).ShouldHaveSingleItem();
            fresh.Services.GetRequiredService<SigningKeyRing>().Keys.ShouldHaveSingleItem().KeyId.ShouldBe(configured);
        }

        var key = await _platform.Services.GetRequiredService<CleanCrm.Infrastructure.Identity.SigningKeyStore>()
            .RotateAsync(TimeSpan.Zero, CancellationToken.None);
        await using var restarted = new ApiFactory(_platform);
        var user = await _platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", _platform.CatalogDatabase);
        KeyIdOf(await TokenAsync(restarted, user)).ShouldBe(key.Id);
    }

    private Dictionary<string, string> WorkerEnvironment()
    {
        var primary = TestDatabaseServers.Primary;
        return new Dictionary<string, string>
        {
            ["ConnectionStrings__Catalog"] = _platform.CatalogConnectionString,
            ["CleanCrm__Tenancy__TemplateDatabase"] = _platform.TemplateDatabase,
            ["CleanCrm__Tenancy__DefaultServer__Host"] = primary.Host!,
            ["CleanCrm__Tenancy__DefaultServer__Port"] = primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CleanCrm__Tenancy__DefaultServer__Username"] = primary.Username!,
            ["CleanCrm__Tenancy__DefaultServer__Password"] = primary.Password!,
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
    }

    private async Task<T> ScalarAsync<T>(string sql) =>
        (await TestDatabaseServers.ScalarAsync<T>(TestDatabaseServers.Primary, _platform.CatalogDatabase, sql))!;

    private static async Task<List<string>> KeyIdsAsync(ApiFactory api)
    {
        var jwks = await api.CreateClient().GetFromJsonAsync<JsonElement>("/.well-known/jwks");
        return [.. jwks.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!)];
    }

    private static async Task<string> TokenAsync(ApiFactory api, UserAccount user)
    {
        var response = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = user.Email,
            ["password"] = Password,
            ["scope"] = "openid api",
        }));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
    }

    private static async Task<HttpStatusCode> MeAsync(ApiFactory api, string token)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (await client.GetAsync("/api/v1/me")).StatusCode;
    }

    private static string KeyIdOf(string token) =>
        JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[0])).RootElement.GetProperty("kid").GetString()!;

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within 30 s: {what}");
            }

            await Task.Delay(200);
        }
    }
}
