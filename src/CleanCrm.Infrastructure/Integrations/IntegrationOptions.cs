using CleanCrm.Domain.Catalog;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>
/// One provider's OAuth application and endpoints (<c>CleanCrm:Integrations:{Google,Slack,Fathom,SavvyCal}</c>). A provider
/// without a client id is not offered. The URLs default to the provider's production endpoints; tests point them at stubs.
/// </summary>
public sealed class IntegrationProviderOptions
{
    public string? ClientId { get; set; }

    /// <summary>The OAuth client secret; in production it comes from Key Vault through the configuration provider.</summary>
    public string? ClientSecret { get; set; }

    public string? AuthorizeUrl { get; set; }

    public string? TokenUrl { get; set; }

    /// <summary>Token revocation endpoint; empty when the provider has none (then disconnecting only forgets the tokens).</summary>
    public string? RevokeUrl { get; set; }

    /// <summary>Base URL of the provider's REST API (Google Calendar, Slack Web API, Fathom external API, SavvyCal API).</summary>
    public string? ApiBaseUrl { get; set; }

    /// <summary>Scopes requested, separated by spaces (Slack: commas, as its authorize URL expects).</summary>
    public string? Scopes { get; set; }

    /// <summary>Sends an S256 PKCE challenge with the authorization request and the verifier with the code exchange.</summary>
    public bool UsePkce { get; set; }

    /// <summary>
    /// The callback URL registered with the provider. Empty: derived from the request (<c>{scheme}://{host}/oauth/{provider}/callback</c>),
    /// which is right when the API is reached at its public address.
    /// </summary>
    public string? RedirectUri { get; set; }

    /// <summary>Webhook signing secret for providers that sign with an app-wide secret (Slack's signing secret).</summary>
    public string? SigningSecret { get; set; }

    /// <summary>
    /// Fathom only: external invitees of a recorded meeting who are neither contacts nor members become contacts (source
    /// <c>fathom</c>). Off: they are kept as unmatched attendees of the meeting and no contact is created.
    /// </summary>
    public bool CreateContacts { get; set; } = true;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ClientId);
}

public sealed class IntegrationOptions
{
    public const string SectionName = "CleanCrm:Integrations";

    /// <summary>The SPA page the OAuth callback sends the browser back to, with <c>provider</c> and <c>outcome</c> in the query.</summary>
    public string? SpaRedirectUrl { get; set; }

    public int StateLifetimeMinutes { get; set; } = 10;

    /// <summary>Access tokens expiring within this many minutes are refreshed by the refresh job (which runs every 5 minutes).</summary>
    public int RefreshBeforeExpiryMinutes { get; set; } = 15;

    public int RequestTimeoutSeconds { get; set; } = 20;

    public IntegrationProviderOptions Google { get; set; } = new()
    {
        AuthorizeUrl = "https://accounts.google.com/o/oauth2/v2/auth",
        TokenUrl = "https://oauth2.googleapis.com/token",
        RevokeUrl = "https://oauth2.googleapis.com/revoke",
        ApiBaseUrl = "https://www.googleapis.com/calendar/v3",
        Scopes = "https://www.googleapis.com/auth/calendar.readonly email",
        UsePkce = true,
    };

    public IntegrationProviderOptions Slack { get; set; } = new()
    {
        AuthorizeUrl = "https://slack.com/oauth/v2/authorize",
        TokenUrl = "https://slack.com/api/oauth.v2.access",
        RevokeUrl = "https://slack.com/api/auth.revoke",
        ApiBaseUrl = "https://slack.com/api",
        Scopes = "chat:write,incoming-webhook",
    };

    public IntegrationProviderOptions Fathom { get; set; } = new()
    {
        AuthorizeUrl = "https://fathom.video/external/v1/oauth2/authorize",
        TokenUrl = "https://fathom.video/external/v1/oauth2/token",
        ApiBaseUrl = "https://api.fathom.ai/external/v1",
        Scopes = "public_api",
    };

    public IntegrationProviderOptions SavvyCal { get; set; } = new()
    {
        AuthorizeUrl = "https://savvycal.com/oauth/authorize",
        TokenUrl = "https://savvycal.com/oauth/token",
        ApiBaseUrl = "https://api.savvycal.com/v1",
        UsePkce = true,
    };

    public IntegrationProviderOptions For(string provider) => provider switch
    {
        IntegrationProviders.Google => Google,
        IntegrationProviders.Slack => Slack,
        IntegrationProviders.Fathom => Fathom,
        IntegrationProviders.SavvyCal => SavvyCal,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown integration provider."),
    };
}

internal sealed class IntegrationOptionsValidator : IValidateOptions<IntegrationOptions>
{
    public ValidateOptionsResult Validate(string? name, IntegrationOptions options)
    {
        var failures = new List<string>();
        var section = IntegrationOptions.SectionName;
        var anyConfigured = IntegrationProviders.All.Any(p => options.For(p).IsConfigured);
        if (anyConfigured && !IsHttpUrl(options.SpaRedirectUrl))
        {
            failures.Add($"{section}:SpaRedirectUrl must be an absolute http(s) URL when a provider is configured (the SPA page the " +
                "OAuth callback returns to).");
        }

        if (options.StateLifetimeMinutes is < 1 or > 60)
        {
            failures.Add($"{section}:StateLifetimeMinutes must be between 1 and 60.");
        }

        if (options.RefreshBeforeExpiryMinutes is < 6 or > 1440)
        {
            failures.Add($"{section}:RefreshBeforeExpiryMinutes must be between 6 and 1440 (the refresh job runs every 5 minutes).");
        }

        if (options.RequestTimeoutSeconds is < 1 or > 120)
        {
            failures.Add($"{section}:RequestTimeoutSeconds must be between 1 and 120.");
        }

        foreach (var provider in IntegrationProviders.All)
        {
            var settings = options.For(provider);
            if (!settings.IsConfigured)
            {
                continue;
            }

            var prefix = $"{section}:{Pascal(provider)}";
            if (string.IsNullOrWhiteSpace(settings.ClientSecret))
            {
                failures.Add($"{prefix}:ClientSecret is required when ClientId is set.");
            }

            foreach (var (key, value, required) in new[]
                     {
                         ("AuthorizeUrl", settings.AuthorizeUrl, true), ("TokenUrl", settings.TokenUrl, true),
                         ("ApiBaseUrl", settings.ApiBaseUrl, true), ("RevokeUrl", settings.RevokeUrl, false),
                         ("RedirectUri", settings.RedirectUri, false),
                     })
            {
                if ((required || !string.IsNullOrEmpty(value)) && !IsHttpUrl(value))
                {
                    failures.Add($"{prefix}:{key} must be an absolute http(s) URL.");
                }
            }

            if (provider == IntegrationProviders.Slack && string.IsNullOrWhiteSpace(settings.SigningSecret))
            {
                failures.Add($"{prefix}:SigningSecret is required when ClientId is set (the app's signing secret for its events).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static string Pascal(string provider) => provider == IntegrationProviders.SavvyCal
        ? "SavvyCal"
        : char.ToUpperInvariant(provider[0]) + provider[1..];

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
