using System.ComponentModel.DataAnnotations;
using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using CleanCrm.Infrastructure.Options;
using Microsoft.Extensions.Configuration;

namespace CleanCrm.Infrastructure.Secrets;

public static class KeyVaultConfigurationExtensions
{
    private const string KeyVaultProvider = "KeyVault";

    /// <summary>
    /// Adds configuration secrets from Key Vault (see <see cref="KeyVaultConfigurationProvider"/>) when the
    /// configuration added so far says <c>CleanCrm:Secrets:Provider</c> is <c>KeyVault</c>; otherwise adds nothing.
    /// Call it after the other sources so that the vault's values win. Authenticates with
    /// <see cref="DefaultAzureCredential"/> unless <paramref name="credential"/> is given.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The <c>CleanCrm:Secrets:KeyVault</c> settings are missing or invalid, or (when the source loads, which for a
    /// host's <c>ConfigurationManager</c> is right away) the vault could not be read.
    /// </exception>
    public static IConfigurationBuilder AddCleanCrmKeyVaultSecrets(
        this IConfigurationBuilder builder,
        TokenCredential? credential = null,
        SecretClientOptions? options = null) =>
        AddCore(builder, configureSource: null, credential, options);

    /// <inheritdoc cref="AddCleanCrmKeyVaultSecrets(IConfigurationBuilder, TokenCredential?, SecretClientOptions?)"/>
    /// <param name="configureSource">Adjusts the source before it is added, e.g. to hand in a logger.</param>
    public static IConfigurationBuilder AddCleanCrmKeyVaultSecrets(
        this IConfigurationBuilder builder,
        Action<KeyVaultConfigurationSource> configureSource,
        TokenCredential? credential = null,
        SecretClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(configureSource);
        return AddCore(builder, configureSource, credential, options);
    }

    private static IConfigurationBuilder AddCore(
        IConfigurationBuilder builder,
        Action<KeyVaultConfigurationSource>? configureSource,
        TokenCredential? credential,
        SecretClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var settings = ReadSettings(builder);
        if (settings is null)
        {
            return builder;
        }

        var source = new KeyVaultConfigurationSource
        {
            VaultUri = settings.VaultUri!,
            Credential = credential ?? new DefaultAzureCredential(),
            ClientOptions = options,
            NamePrefix = settings.NamePrefix,
            ReloadInterval = settings.ConfigurationReloadInterval,
        };
        configureSource?.Invoke(source);
        return builder.Add(source);
    }

    /// <summary>The validated Key Vault settings, or null when secrets are not kept in Key Vault.</summary>
    private static KeyVaultOptions? ReadSettings(IConfigurationBuilder builder)
    {
        // A host's ConfigurationManager is both builder and configuration and always up to date. A plain builder
        // has to be built; that temporary root is disposed so that file sources stop watching their files.
        if (builder is IConfiguration configuration)
        {
            return ReadSettings(configuration);
        }

        var temporary = builder.Build();
        try
        {
            return ReadSettings(temporary);
        }
        finally
        {
            (temporary as IDisposable)?.Dispose();
        }
    }

    private static KeyVaultOptions? ReadSettings(IConfiguration configuration)
    {
        var provider = configuration.GetSection(SecretsOptions.SectionName)[nameof(SecretsOptions.Provider)];
        if (!string.Equals(provider, KeyVaultProvider, StringComparison.Ordinal))
        {
            return null;
        }

        var section = configuration.GetSection(KeyVaultOptions.SectionName);
        if (string.IsNullOrWhiteSpace(section[nameof(KeyVaultOptions.VaultUri)]))
        {
            throw new InvalidOperationException(KeyVaultOptions.VaultUriRequiredMessage);
        }

        var options = section.Get<KeyVaultOptions>() ?? new KeyVaultOptions();
        var failures = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), failures, validateAllProperties: true);
        var messages = failures.Select(failure => failure.ErrorMessage ?? string.Empty).ToList();
        if (new KeyVaultOptionsValidator().Validate(name: null, options) is { Failed: true } result)
        {
            messages.AddRange(result.Failures);
        }

        return messages.Count == 0 ? options : throw new InvalidOperationException(string.Join(" ", messages));
    }
}
