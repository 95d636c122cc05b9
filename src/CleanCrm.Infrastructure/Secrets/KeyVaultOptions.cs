using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>Settings of the Azure Key Vault secret store, bound from <see cref="SectionName"/>.</summary>
public sealed class KeyVaultOptions
{
    public const string SectionName = "CleanCrm:Secrets:KeyVault";

    public const string VaultUriRequiredMessage =
        $"{SectionName}:{nameof(VaultUri)} is required when CleanCrm:Secrets:Provider is KeyVault.";

    public const string NamePrefixInvalidMessage =
        $"{SectionName}:{nameof(NamePrefix)} may contain only letters, digits and dashes, at most 100 characters.";

    /// <summary>The vault's address, e.g. <c>https://cleancrm-prod.vault.azure.net/</c>.</summary>
    [Required(ErrorMessage = VaultUriRequiredMessage)]
    public Uri? VaultUri { get; set; }

    /// <summary>Prepended to every secret name so that several environments can share one vault.</summary>
    [RegularExpression("^[a-zA-Z0-9-]{0,100}$", ErrorMessage = NamePrefixInvalidMessage)]
    public string? NamePrefix { get; set; }

    /// <summary>
    /// How often configuration secrets (<c>&lt;NamePrefix&gt;config--…</c>, see <see cref="KeyVaultConfigurationProvider"/>)
    /// are read again; unset reads them once, at start-up. Does not affect the secret store.
    /// </summary>
    public TimeSpan? ConfigurationReloadInterval { get; set; }

    /// <summary>
    /// How long one call to the vault may take before it is abandoned and retried (the SDK's own default is 100 s). With
    /// <see cref="MaxRetries"/>, a silent vault holds a caller for at most (MaxRetries + 1) × this, plus 0.5 s, 1 s, … between
    /// attempts; an unreachable one for about the backoff alone (docs/MULTI_TENANCY.md, "Secret store").
    /// </summary>
    [Range(1, 120)]
    public int RequestTimeoutSeconds { get; set; } = 5;

    /// <summary>Retries of a failed call (no connection, timeout, 408, 429, 5xx) before it surfaces as unavailable.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Purge deleted secrets instead of leaving them recoverable until the vault's retention ends.</summary>
    public bool PurgeOnDelete { get; set; }
}
