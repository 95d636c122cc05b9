using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>Checks what data annotations cannot express: the vault address must be absolute and use HTTPS.</summary>
public sealed class KeyVaultOptionsValidator : IValidateOptions<KeyVaultOptions>
{
    public const string VaultUriNotHttpsMessage =
        $"{KeyVaultOptions.SectionName}:{nameof(KeyVaultOptions.VaultUri)} must be an absolute https:// URI.";

    public ValidateOptionsResult Validate(string? name, KeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // A missing VaultUri is reported by the [Required] annotation; reporting it twice would only add noise.
        if (options.VaultUri is { } vaultUri && !IsAbsoluteHttps(vaultUri))
        {
            return ValidateOptionsResult.Fail(VaultUriNotHttpsMessage);
        }

        return ValidateOptionsResult.Success;
    }

    private static bool IsAbsoluteHttps(Uri uri) =>
        uri.IsAbsoluteUri && uri.Scheme == Uri.UriSchemeHttps;
}
