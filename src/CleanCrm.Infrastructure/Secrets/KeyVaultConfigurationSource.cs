using Azure.Core;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>Adds <see cref="KeyVaultConfigurationProvider"/>; see <see cref="KeyVaultConfigurationExtensions"/>.</summary>
public sealed class KeyVaultConfigurationSource : IConfigurationSource
{
    public required Uri VaultUri { get; set; }

    public required TokenCredential Credential { get; set; }

    /// <summary>Transport, retries and service version of the <see cref="SecretClient"/>; the SDK's defaults when null.</summary>
    public SecretClientOptions? ClientOptions { get; set; }

    /// <summary>The <see cref="KeyVaultOptions.NamePrefix"/>; configuration secrets are named <c>&lt;NamePrefix&gt;config--…</c>.</summary>
    public string? NamePrefix { get; set; }

    /// <summary>How often the values are read again; null (the default) reads them once, at start-up.</summary>
    public TimeSpan? ReloadInterval { get; set; }

    /// <summary>Configuration is built before the host's logging, so a logger can only be handed in.</summary>
    public ILogger? Logger { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public IConfigurationProvider Build(IConfigurationBuilder builder) =>
        new KeyVaultConfigurationProvider(
            new SecretClient(VaultUri, Credential, ClientOptions ?? new SecretClientOptions()),
            NamePrefix,
            ReloadInterval,
            Logger,
            TimeProvider);
}
