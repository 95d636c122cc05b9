using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Azure;
using Azure.Core;
using Azure.Core.Diagnostics;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using CleanCrm.Infrastructure.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CleanCrm.IntegrationTests.Secrets;

public sealed class KeyVaultConfigurationTests : IDisposable
{
    private const string NamePrefix = "cleancrm-";
    private const int MaxRetries = 2;
    private static readonly TimeSpan ReloadInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly KeyVaultStub _vault = new();
    private readonly RecordingTokenCredential _credential = new(KeyVaultStub.AccessToken);
    private readonly CapturingLogger<KeyVaultConfigurationProvider> _logger = new();
    private readonly WireRecordingHandler _wire = new();
    private readonly FakeTimeProvider _time = new();
    private readonly ConfigurationManager _configuration = new();

    public void Dispose()
    {
        _configuration.Dispose();
        _vault.Dispose();
        _wire.Dispose();
    }

    [Fact]
    public void Only_enabled_secrets_named_with_the_config_prefix_become_configuration_keys()
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-stripe-value");
        _vault.Seed("cleancrm-config--OAuth--Google--ClientSecret", "google-client-secret-value");
        _vault.Seed("cleancrm-config--Signing--Key", "old-signing-key");
        _vault.Seed("cleancrm-config--Signing--Key", "current-signing-key");
        _vault.Seed("cleancrm-config--Retired--Key", "retired-value", enabled: false);
        _vault.Seed("cleancrm-tenant-db-0123456789abcdef", "tenant-password");
        _vault.Seed("config--Stripe--ApiKey", "other-environment-value");
        _vault.Seed("cleancrm-staging-config--Stripe--ApiKey", "staging-value");
        _vault.Seed("other-cleancrm-config--Stripe--ApiKey", "other-prefix-value");
        _vault.Seed("cleancrm-config--", "nameless-value");
        AddSettings(("Stripe:ApiKey", "from-appsettings"));

        AddKeyVaultSecrets();

        KeysOf(KeyVaultProvider()).Order(StringComparer.Ordinal).ShouldBe(["OAuth:Google:ClientSecret", "Signing:Key", "Stripe:ApiKey"]);
        _configuration["Stripe:ApiKey"].ShouldBe("fake-key-stripe-value");
        _configuration["stripe:apikey"].ShouldBe("fake-key-stripe-value");
        _configuration["OAuth:Google:ClientSecret"].ShouldBe("google-client-secret-value");
        _configuration["Signing:Key"].ShouldBe("current-signing-key");
        ValueReads().Order(StringComparer.Ordinal).ShouldBe([
            "cleancrm-config--OAuth--Google--ClientSecret", "cleancrm-config--Signing--Key", "cleancrm-config--Stripe--ApiKey"]);
    }

    [Fact]
    public void Without_a_name_prefix_secrets_starting_with_config_are_loaded()
    {
        _vault.Seed("config--Stripe--ApiKey", "unprefixed-value");
        _vault.Seed("cleancrm-config--Stripe--WebhookSecret", "prefixed-value");

        AddKeyVaultSecrets(namePrefix: null);

        KeysOf(KeyVaultProvider()).ShouldBe(["Stripe:ApiKey"]);
        _configuration["Stripe:ApiKey"].ShouldBe("unprefixed-value");
    }

    [Fact]
    public void A_disabled_secret_is_skipped_without_being_read()
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "enabled-value");
        _vault.Seed("cleancrm-config--Stripe--WebhookSecret", "was-enabled");
        _vault.Seed("cleancrm-config--Stripe--WebhookSecret", "now-disabled", enabled: false);

        AddKeyVaultSecrets();

        _configuration["Stripe:ApiKey"].ShouldBe("enabled-value");
        _configuration["Stripe:WebhookSecret"].ShouldBeNull();
        ValueReads().ShouldBe(["cleancrm-config--Stripe--ApiKey"]);
    }

    [Fact]
    public void Every_page_of_the_listing_is_followed()
    {
        _vault.ListPageSize = 2;
        for (var i = 1; i <= 5; i++)
        {
            _vault.Seed($"cleancrm-config--Feature{i}--Key", $"value-{i}");
        }

        _vault.Seed("cleancrm-tenant-db-1", "tenant-password-1");
        _vault.Seed("cleancrm-tenant-db-2", "tenant-password-2");

        AddKeyVaultSecrets();

        KeysOf(KeyVaultProvider()).Count().ShouldBe(5);
        _configuration["Feature1:Key"].ShouldBe("value-1");
        _configuration["Feature5:Key"].ShouldBe("value-5");
        // Seven secrets, two a page: the first page, then the nextLinks with their skip tokens.
        var listings = _wire.Requests.Where(r => r.StartsWith("GET /secrets?", StringComparison.Ordinal)).Distinct().ToList();
        listings.Count.ShouldBe(4);
        listings.Skip(1).Select(r => r[(r.IndexOf("skiptoken=", StringComparison.Ordinal) + "skiptoken=".Length)..].Split('&')[0])
            .ShouldBe(["2", "4", "6"]);
    }

    [Theory]
    [InlineData(500, null)]
    [InlineData(403, null)]
    [InlineData(403, "^/secrets/cleancrm-config--Stripe--ApiKey$")]
    public void A_vault_error_fails_the_load_instead_of_leaving_the_configuration_empty(int status, string? failingPath)
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-stripe-value");
        _vault.FailAuthenticatedRequestsWith(status, failingPath);

        var exception = Should.Throw<InvalidOperationException>(() => AddKeyVaultSecrets());

        exception.Message.ShouldContain(_vault.VaultUri.Authority);
        exception.InnerException.ShouldBeOfType<RequestFailedException>().Status.ShouldBe(status);
        exception.ToString().ShouldNotContain("fake-key-stripe-value");
        _configuration["Stripe:ApiKey"].ShouldBeNull();
    }

    [Fact]
    public void A_plain_configuration_builder_gets_the_values_when_it_is_built()
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-stripe-value");
        var builder = new ConfigurationBuilder().AddInMemoryCollection(KeyVaultSettings(NamePrefix));

        builder.AddCleanCrmKeyVaultSecrets(_credential, ClientOptions());
        using var configuration = (ConfigurationRoot)builder.Build();

        configuration["Stripe:ApiKey"].ShouldBe("fake-key-stripe-value");
    }

    [Theory]
    [InlineData("Local")]
    [InlineData(null)]
    public void Without_the_key_vault_provider_nothing_is_added_and_the_vault_is_never_called(string? provider)
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-stripe-value");
        AddSettings(
            ("CleanCrm:Secrets:Provider", provider),
            ("CleanCrm:Secrets:KeyVault:VaultUri", _vault.VaultUri.ToString()),
            ("CleanCrm:Secrets:KeyVault:NamePrefix", NamePrefix));
        var sources = _configuration.Sources.Count;

        _configuration.AddCleanCrmKeyVaultSecrets(_credential, ClientOptions());

        _configuration.Sources.Count.ShouldBe(sources);
        _configuration["Stripe:ApiKey"].ShouldBeNull();
        _vault.Requests.ShouldBeEmpty();
        _credential.Requests.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void A_missing_vault_uri_fails_naming_the_setting(string? vaultUri)
    {
        AddSettings(("CleanCrm:Secrets:Provider", "KeyVault"), ("CleanCrm:Secrets:KeyVault:VaultUri", vaultUri));

        var exception =
            Should.Throw<InvalidOperationException>(() => _configuration.AddCleanCrmKeyVaultSecrets(_credential, ClientOptions()));

        exception.Message.ShouldContain("CleanCrm:Secrets:KeyVault:VaultUri");
        exception.Message.ShouldBe(KeyVaultOptions.VaultUriRequiredMessage);
        _vault.Requests.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("CleanCrm:Secrets:KeyVault:VaultUri", "http://cleancrm-prod.vault.azure.net/",
        KeyVaultOptionsValidator.VaultUriNotHttpsMessage)]
    [InlineData("CleanCrm:Secrets:KeyVault:NamePrefix", "cleancrm_prod_", KeyVaultOptions.NamePrefixInvalidMessage)]
    [InlineData("CleanCrm:Secrets:KeyVault:ConfigurationReloadInterval", "-00:05:00",
        KeyVaultOptionsValidator.ConfigurationReloadIntervalNotPositiveMessage)]
    public void Invalid_settings_fail_naming_the_setting(string key, string value, string message)
    {
        AddSettings(KeyVaultSettings(NamePrefix).Select(s => (s.Key, s.Value)).ToArray());
        AddSettings((key, value));

        var exception =
            Should.Throw<InvalidOperationException>(() => _configuration.AddCleanCrmKeyVaultSecrets(_credential, ClientOptions()));

        exception.Message.ShouldBe(message);
        _vault.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task Values_never_appear_in_logs_while_loading_and_reloading()
    {
        var sdkEvents = new ConcurrentQueue<string>();
        using var listener = new AzureEventSourceListener((_, message) => sdkEvents.Enqueue(message), EventLevel.Verbose);
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-first-value");
        _vault.Seed("cleancrm-config--OAuth--Google--ClientSecret", "google-client-secret-value");
        AddKeyVaultSecrets(reloadInterval: ReloadInterval);
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-second-value");

        await ReloadAsync();

        _configuration["Stripe:ApiKey"].ShouldBe("fake-key-second-value");
        _logger.Messages.ShouldContain(m => m.Level == LogLevel.Information
            && m.Text.StartsWith("Loaded 2 configuration values", StringComparison.Ordinal));
        _logger.Messages.ShouldContain(m => m.Level == LogLevel.Information && m.Text.Contains("changed", StringComparison.Ordinal));
        sdkEvents.ShouldContain(e => e.Contains("/secrets", StringComparison.Ordinal));
        string[] values = ["fake-key-first-value", "fake-key-second-value", "google-client-secret-value"];
        foreach (var value in values)
        {
            _logger.Messages.ShouldNotContain(m => m.Text.Contains(value, StringComparison.Ordinal));
            sdkEvents.ShouldNotContain(e => e.Contains(value, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_reload_picks_up_new_versions_and_removed_secrets_and_signals_the_change()
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-first-value");
        _vault.Seed("cleancrm-config--Stripe--WebhookSecret", "whsec-value");
        AddKeyVaultSecrets(reloadInterval: ReloadInterval);
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-second-value");
        _vault.Seed("cleancrm-config--Stripe--WebhookSecret", "whsec-disabled", enabled: false);

        await ReloadAsync();

        _configuration["Stripe:ApiKey"].ShouldBe("fake-key-second-value");
        _configuration["Stripe:WebhookSecret"].ShouldBeNull();
    }

    [Fact]
    public async Task A_reload_that_finds_nothing_new_or_fails_keeps_the_values_and_signals_nothing()
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-first-value");
        AddKeyVaultSecrets(reloadInterval: ReloadInterval);
        var signalled = false;
        using var registration = ((IConfiguration)_configuration).GetReloadToken().RegisterChangeCallback(_ => signalled = true, null);

        _time.Advance(ReloadInterval);
        await WaitUntilLoggedAsync(m => m.Level == LogLevel.Debug && m.Text.Contains("unchanged", StringComparison.Ordinal));
        _vault.FailAuthenticatedRequestsWith(500);
        _time.Advance(ReloadInterval);
        await WaitUntilLoggedAsync(m => m.Level == LogLevel.Warning
            && m.Text.StartsWith("Reloading configuration values", StringComparison.Ordinal));

        signalled.ShouldBeFalse();
        _configuration["Stripe:ApiKey"].ShouldBe("fake-key-first-value");
    }

    [Fact]
    public void Without_a_reload_interval_the_vault_is_read_once()
    {
        _vault.Seed("cleancrm-config--Stripe--ApiKey", "fake-key-first-value");
        AddKeyVaultSecrets();
        var requests = _wire.Requests.Count;

        _time.Advance(TimeSpan.FromDays(1));

        _wire.Requests.Count.ShouldBe(requests);
    }

    /// <summary>Lets the fake clock reach the next reload and waits until the host's configuration signals it.</summary>
    private async Task ReloadAsync()
    {
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = ((IConfiguration)_configuration).GetReloadToken()
            .RegisterChangeCallback(_ => reloaded.TrySetResult(), null);
        _time.Advance(ReloadInterval);
        await reloaded.Task.WaitAsync(Patience);
    }

    private async Task WaitUntilLoggedAsync(Func<LoggedMessage, bool> predicate)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!_logger.Messages.Any(predicate))
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the expected log message did not arrive");
            await Task.Delay(20);
        }
    }

    private void AddKeyVaultSecrets(string? namePrefix = NamePrefix, TimeSpan? reloadInterval = null)
    {
        AddSettings(KeyVaultSettings(namePrefix).Select(s => (s.Key, s.Value)).ToArray());
        if (reloadInterval is { } interval)
        {
            AddSettings(("CleanCrm:Secrets:KeyVault:ConfigurationReloadInterval", interval.ToString("c")));
        }

        _configuration.AddCleanCrmKeyVaultSecrets(
            source =>
            {
                source.Logger = _logger;
                source.TimeProvider = _time;
            },
            _credential,
            ClientOptions());
    }

    private Dictionary<string, string?> KeyVaultSettings(string? namePrefix) => new()
    {
        ["CleanCrm:Secrets:Provider"] = "KeyVault",
        ["CleanCrm:Secrets:KeyVault:VaultUri"] = _vault.VaultUri.ToString(),
        ["CleanCrm:Secrets:KeyVault:NamePrefix"] = namePrefix,
    };

    private void AddSettings(params (string Key, string? Value)[] settings) =>
        _configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));

    private KeyVaultConfigurationProvider KeyVaultProvider() =>
        ((IConfigurationRoot)_configuration).Providers.OfType<KeyVaultConfigurationProvider>().Single();

    /// <summary>Names of the secrets whose values were read (GET of a single secret, challenge round trips aside).</summary>
    private IEnumerable<string> ValueReads() =>
        _wire.Requests
            .Where(r => r.StartsWith("GET /secrets/", StringComparison.Ordinal))
            .Select(r => r["GET /secrets/".Length..r.IndexOf('?', StringComparison.Ordinal)])
            .Distinct();

    private static IEnumerable<string> KeysOf(IConfigurationProvider provider, string? parentPath = null) =>
        provider.GetChildKeys([], parentPath)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .SelectMany(key =>
            {
                var path = parentPath is null ? key : ConfigurationPath.Combine(parentPath, key);
                return provider.TryGet(path, out _) ? [path] : KeysOf(provider, path);
            });

    private SecretClientOptions ClientOptions() => new()
    {
        Transport = new HttpClientTransport(_wire),
        // The stub is not on *.vault.azure.net, so the challenge's resource cannot match its host.
        DisableChallengeResourceVerification = true,
        Retry = { MaxRetries = MaxRetries, Mode = RetryMode.Fixed, Delay = TimeSpan.FromMilliseconds(10) },
    };
}
