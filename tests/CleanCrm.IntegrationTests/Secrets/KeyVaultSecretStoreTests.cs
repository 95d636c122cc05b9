using System.Text.RegularExpressions;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Infrastructure.Secrets;
using Microsoft.Extensions.Logging;

namespace CleanCrm.IntegrationTests.Secrets;

public sealed class KeyVaultSecretStoreTests : IDisposable
{
    private const string KeyVaultScope = "https://vault.azure.net/.default";
    private const int MaxRetries = 2;

    private readonly KeyVaultStub _vault = new();
    private readonly RecordingTokenCredential _credential = new(KeyVaultStub.AccessToken);
    private readonly CapturingLogger<KeyVaultSecretStore> _logger = new();
    private readonly WireRecordingHandler _wire = new();

    public void Dispose()
    {
        _vault.Dispose();
        _wire.Dispose();
    }

    [Fact]
    public async Task Set_then_get_returns_the_value()
    {
        var store = CreateStore();

        await store.SetAsync("tenant-db-1", "s3cret-1");

        (await store.GetAsync("tenant-db-1")).ShouldBe("s3cret-1");
        _vault.VersionsOf("tenant-db-1").ShouldBe(["s3cret-1"]);
    }

    [Fact]
    public async Task Setting_twice_creates_a_new_version_and_get_returns_the_latest()
    {
        var store = CreateStore();

        await store.SetAsync("tenant-db-2", "first");
        await store.SetAsync("tenant-db-2", "second");

        (await store.GetAsync("tenant-db-2")).ShouldBe("second");
        _vault.VersionsOf("tenant-db-2").ShouldBe(["first", "second"]);
    }

    [Fact]
    public async Task Get_of_an_unknown_secret_returns_null_after_the_vault_answered_404()
    {
        var store = CreateStore();

        (await store.GetAsync("never-written")).ShouldBeNull();

        // SDK 4.12 asks for the latest version without a version segment (older clients sent "/secrets/{name}/").
        _wire.Requests[^1].ShouldMatch("^GET /secrets/never-written\\?api-version=[0-9-]+$");
        _vault.Exchanges[^1].ResponseMessage.StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Delete_then_get_returns_null_and_the_secret_stays_soft_deleted()
    {
        var store = CreateStore();
        await store.SetAsync("to-delete", "value");

        await store.DeleteAsync("to-delete");

        (await store.GetAsync("to-delete")).ShouldBeNull();
        _vault.IsSoftDeleted("to-delete").ShouldBeTrue();
        _vault.Requests.ShouldNotContain(r => r.Path.StartsWith("/deletedsecrets/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Delete_of_an_unknown_secret_succeeds()
    {
        var store = CreateStore();

        await Should.NotThrowAsync(() => store.DeleteAsync("never-written"));

        _vault.Exchanges.ShouldContain(e =>
            e.RequestMessage.Method == "DELETE" && e.RequestMessage.Path == "/secrets/never-written" &&
            Equals(e.ResponseMessage.StatusCode, 404));
    }

    [Fact]
    public async Task Delete_with_purge_waits_for_the_deletion_then_purges()
    {
        var store = CreateStore(purgeOnDelete: true);
        await store.SetAsync("to-purge", "value");

        await store.DeleteAsync("to-purge");

        _vault.IsSoftDeleted("to-purge").ShouldBeFalse();
        _wire.Requests
            .Where(r => r.Contains("to-purge", StringComparison.Ordinal) && !r.StartsWith("PUT", StringComparison.Ordinal))
            .Select(r => r[..r.IndexOf('?', StringComparison.Ordinal)])
            .Distinct()
            .ShouldBe(["DELETE /secrets/to-purge", "GET /deletedsecrets/to-purge", "DELETE /deletedsecrets/to-purge"]);
    }

    [Fact]
    public async Task Delete_with_purge_on_a_purge_protected_vault_keeps_the_secret_and_warns()
    {
        _vault.PurgeProtected = true;
        var store = CreateStore(purgeOnDelete: true);
        await store.SetAsync("protected", "value");

        await Should.NotThrowAsync(() => store.DeleteAsync("protected"));

        _vault.IsSoftDeleted("protected").ShouldBeTrue();
        _logger.Messages.ShouldContain(m => m.Level == LogLevel.Warning && m.Text.Contains("protected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Set_on_a_soft_deleted_name_recovers_it_then_writes_the_new_value_without_logging_it()
    {
        _vault.SeedSoftDeleted("recycled", "old-value");
        var store = CreateStore();

        await store.SetAsync("recycled", "new-value");

        (await store.GetAsync("recycled")).ShouldBe("new-value");
        _vault.VersionsOf("recycled").ShouldBe(["old-value", "new-value"]);
        _vault.Requests.ShouldContain(r => r.Method == "POST" && r.Path == "/deletedsecrets/recycled/recover");
        _logger.Messages.ShouldContain(m => m.Text.Contains("recycled", StringComparison.Ordinal));
        _logger.Messages.ShouldNotContain(m => m.Text.Contains("new-value", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requests_follow_the_challenge_then_carry_the_bearer_token_and_api_version()
    {
        var store = CreateStore();

        await store.SetAsync("authenticated", "value");
        (await store.GetAsync("authenticated")).ShouldBe("value");

        // The challenge round trip: the first request goes out bare (no token, no body) and is answered 401.
        var challenge = _vault.Exchanges[0];
        challenge.RequestMessage.Headers!.Keys.ShouldNotContain("Authorization", StringComparer.OrdinalIgnoreCase);
        challenge.RequestMessage.Body.ShouldBeNullOrEmpty();
        challenge.ResponseMessage.StatusCode.ShouldBe(401);
        _wire.Requests.Select(r => r[..r.IndexOf('?', StringComparison.Ordinal)])
            .ShouldBe(["PUT /secrets/authenticated", "PUT /secrets/authenticated", "GET /secrets/authenticated"]);
        _wire.Requests.ShouldAllBe(r => Regex.IsMatch(r, @"\?api-version=\d{4}-\d{2}-\d{2}$"));

        var authenticated = _vault.Exchanges.Skip(1).ToList();
        authenticated.ShouldAllBe(e => e.RequestMessage.Headers!["Authorization"].Single() == $"Bearer {KeyVaultStub.AccessToken}");
        authenticated.Select(e => e.ResponseMessage.StatusCode).ShouldBe([200, 200]);
        authenticated[0].RequestMessage.Body.ShouldBe("""{"value":"value"}""");

        _credential.Requests.ShouldNotBeEmpty();
        _credential.Requests.ShouldAllBe(c => c.Scopes.SequenceEqual(new[] { KeyVaultScope }) && c.TenantId == KeyVaultStub.TenantId);
    }

    [Fact]
    public async Task A_server_error_surfaces_as_an_exception_instead_of_null()
    {
        _vault.FailAuthenticatedRequestsWith(500);
        var store = CreateStore();

        // Unavailable, not "no such secret" (docs/MULTI_TENANCY.md, "Secret store"): the API answers 503 for it.
        var exception = await Should.ThrowAsync<SecretStoreUnavailableException>(() => store.GetAsync("any-secret"));

        exception.InnerException.ShouldBeOfType<RequestFailedException>().Status.ShouldBe(500);
        _vault.Exchanges.Count(e => Equals(e.ResponseMessage.StatusCode, 500)).ShouldBe(1 + MaxRetries);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("under_score")]
    [InlineData("dots.are.not.allowed")]
    public async Task Invalid_names_are_rejected_before_any_request(string name)
    {
        var store = CreateStore();

        await Should.ThrowAsync<ArgumentException>(() => store.GetAsync(name));
        await Should.ThrowAsync<ArgumentException>(() => store.SetAsync(name, "value"));
        await Should.ThrowAsync<ArgumentException>(() => store.DeleteAsync(name));

        _vault.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_name_that_becomes_too_long_with_the_prefix_is_rejected_before_any_request()
    {
        var store = CreateStore(namePrefix: "cleancrm-prod-");

        await Should.ThrowAsync<ArgumentException>(() => store.SetAsync(new string('a', 120), "value"));

        _vault.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task The_name_prefix_is_prepended_in_the_vault_but_not_seen_by_callers()
    {
        var store = CreateStore(namePrefix: "cleancrm-test-");

        await store.SetAsync("tenant-db-3", "value");

        _vault.VersionsOf("cleancrm-test-tenant-db-3").ShouldBe(["value"]);
        _vault.VersionsOf("tenant-db-3").ShouldBeEmpty();
        (await store.GetAsync("tenant-db-3")).ShouldBe("value");
    }

    private KeyVaultSecretStore CreateStore(string? namePrefix = null, bool purgeOnDelete = false)
    {
        var options = new KeyVaultOptions { VaultUri = _vault.VaultUri, NamePrefix = namePrefix, PurgeOnDelete = purgeOnDelete };
        var clientOptions = new SecretClientOptions
        {
            Transport = new HttpClientTransport(_wire),
            // The stub is not on *.vault.azure.net, so the challenge's resource cannot match its host.
            DisableChallengeResourceVerification = true,
            Retry = { MaxRetries = MaxRetries, Mode = RetryMode.Fixed, Delay = TimeSpan.FromMilliseconds(10) },
        };
        return KeyVaultSecretStore.Create(options, _credential, clientOptions, _logger);
    }
}
