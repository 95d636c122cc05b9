using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>
/// Checks what data annotations cannot express: the vault address must be absolute and use HTTPS, and a
/// configuration reload interval must be positive.
/// </summary>
public sealed class KeyVaultOptionsValidator : IValidateOptions<KeyVaultOptions>
{
    public const string VaultUriNotHttpsMessage =
        $"{KeyVaultOptions.SectionName}:{nameof(KeyVaultOptions.VaultUri)} must be an absolute https:// URI.";

    public const string ConfigurationReloadIntervalNotPositiveMessage =
        $"{KeyVaultOptions.SectionName}:{nameof(KeyVaultOptions.ConfigurationReloadInterval)} must be positive when it is set.";

    public ValidateOptionsResult Validate(string? name, KeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        var failures = new List<string>();

        // A missing VaultUri is reported by the [Required] annotation; reporting it twice would only add noise.
        if (options.VaultUri is { } vaultUri && !IsAbsoluteHttps(vaultUri))
        {
            failures.Add(VaultUriNotHttpsMessage);
        }

        if (options.ConfigurationReloadInterval is { } interval && interval <= TimeSpan.Zero)
        {
            failures.Add(ConfigurationReloadIntervalNotPositiveMessage);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsAbsoluteHttps(Uri uri) =>
        uri.IsAbsoluteUri && uri.Scheme == Uri.UriSchemeHttps;
}
