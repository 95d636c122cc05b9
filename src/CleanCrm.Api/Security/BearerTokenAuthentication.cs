using System.Security.Claims;
using System.Text.Encodings.Web;
using CleanCrm.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Validation;
using OpenIddict.Validation.AspNetCore;

namespace CleanCrm.Api.Security;

/// <summary>
/// The API's bearer authentication: OpenIddict validation, with each validated access token remembered until its
/// <c>exp</c> (docs/SECURITY.md, "Validated-token cache"; ADR 0009). It is the default scheme behind the standard
/// authentication middleware; OpenIddict answers every failure, challenge and forbid.
/// </summary>
/// <remarks>
/// A remembered answer is used only while it is still the answer OpenIddict would give: never when validation consults
/// token or authorization entries (revocation) or introspects tokens; only while the key that verified the token is
/// still among the trusted signing keys and, without a configured issuer, only at the address the token was validated
/// at. Claims transformations still run on every request, on a copy of the remembered principal.
/// </remarks>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ValidatedTokenCache cache,
    IClaimsTransformation transformation,
    IOptionsMonitor<OpenIddictValidationOptions> validation,
    SessionRevocations revocations) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "CleanCrm.Bearer";

    private const string OpenIddictScheme = OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme;
    private const string RevokedItem = "CleanCrm.Bearer.Revoked";

    // A transformation may change the principal it is given; a remembered principal is shared between requests.
    private readonly bool _copyPrincipals = transformation is not NoopClaimsTransformation;

    /// <summary>The cache key of a request's credentials: the whole <c>Authorization</c> value when it is one bearer token.</summary>
    /// <remarks>Already a string (no copy of a ~1 KB token per request); two spellings of one token are two entries.</remarks>
    public static string? BearerKey(HttpRequest request) =>
        request.Headers.Authorization is { Count: 1 } header && header[0] is { Length: > 7 } value
            && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? value
            : null;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = BearerKey(Request);
        var settings = validation.CurrentValue;
        var keys = key is not null && cache.Enabled && IsPureFunctionOfTheToken(settings) ? await SigningKeysAsync(settings) : null;
        var now = TimeProvider.GetUtcNow();
        if (keys is { } trusted && cache.TryGet(key!, now, out var remembered, out var binding))
        {
            if (binding?.Holds(trusted, Request) == true)
            {
                return IsRevoked(remembered) ? Revoked() : Success(remembered, properties: null);
            }

            cache.Remove(key!);
        }

        // Straight to OpenIddict's handler, not through the authentication service: the principal remembered must be
        // OpenIddict's, before any claims transformation (the service transforms what this handler returns).
        if (await OpenIddictAsync() is not { } handler)
        {
            return AuthenticateResult.NoResult();
        }

        var result = await handler.AuthenticateAsync();
        if (result is not { Succeeded: true, Principal: { } principal })
        {
            return result;
        }

        if (keys is { } verifiedWith
            && principal.GetExpirationDate() is { } expires
            && TokenBinding.For(key!, verifiedWith, Request) is { } bound)
        {
            cache.Add(key!, principal, expires, now, bound);
        }

        return IsRevoked(principal) ? Revoked() : Success(principal, result.Properties);
    }

    // A revoked session's access tokens still validate (they are self-contained); the revocation list refuses them on
    // every request, cached or not (docs/SECURITY.md, "Sessions").
    private bool IsRevoked(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.GetClaim(OpenIddictConstants.Claims.Subject), out var userId)
        && revocations.IsRevoked(userId, Guid.TryParse(principal.GetAuthorizationId(), out var session) ? session : null,
            principal.GetCreationDate());

    private AuthenticateResult Revoked()
    {
        Context.Items[RevokedItem] = true;
        return AuthenticateResult.Fail("The session of this access token was revoked.");
    }

    // Challenges and forbids are OpenIddict's (its error codes and WWW-Authenticate header).
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(RevokedItem))
        {
            properties.Items[OpenIddictValidationAspNetCoreConstants.Properties.Error] = OpenIddictConstants.Errors.InvalidToken;
            properties.Items[OpenIddictValidationAspNetCoreConstants.Properties.ErrorDescription] =
                "The session of this access token was revoked.";
        }

        if (await OpenIddictAsync() is not null)
        {
            await Context.ChallengeAsync(OpenIddictScheme, properties);
        }
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (await OpenIddictAsync() is not null)
        {
            await Context.ForbidAsync(OpenIddictScheme, properties);
        }
    }

    /// <summary>
    /// OpenIddict validation's handler, with its per-request state: on <c>/api/</c> paths the authentication middleware
    /// offers the request to no request handler (<see cref="ApiAuthenticationSchemes"/>), so OpenIddict's request
    /// processing runs here, only when OpenIddict is asked. Null when that processing answered the request itself.
    /// </summary>
    private async Task<IAuthenticationHandler?> OpenIddictAsync()
    {
        var handlers = Context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        var handler = await handlers.GetHandlerAsync(Context, OpenIddictScheme)
            ?? throw new InvalidOperationException($"The {OpenIddictScheme} authentication scheme is not registered.");
        return Context.Features.Get<OpenIddictValidationAspNetCoreFeature>() is null
            && handler is IAuthenticationRequestHandler requests
            && await requests.HandleRequestAsync()
            ? null
            : handler;
    }

    /// <summary>
    /// Whether OpenIddict's answer for a token depends only on the token, the keys and the clock; token and authorization
    /// entries (revocation) and introspection are looked up per request and can change their answer at any time.
    /// </summary>
    public static bool IsPureFunctionOfTheToken(OpenIddictValidationOptions settings) =>
        settings.ValidationType == OpenIddictValidationType.Direct
        && !settings.EnableTokenEntryValidation
        && !settings.EnableAuthorizationEntryValidation;

    // ClaimsPrincipal.Clone shares the identities (and their claim lists), so each identity is copied too.
    private AuthenticateResult Success(ClaimsPrincipal principal, AuthenticationProperties? properties) =>
        AuthenticateResult.Success(new AuthenticationTicket(
            _copyPrincipals ? new ClaimsPrincipal(principal.Identities.Select(identity => identity.Clone())) : principal,
            properties,
            OpenIddictScheme));

    // The keys OpenIddict verifies signatures with right now (a fixed set with the local server; a remote set is refreshed).
    private async Task<SigningKeySet?> SigningKeysAsync(OpenIddictValidationOptions settings)
    {
        if (settings.ConfigurationManager is not { } manager)
        {
            return null;
        }

        try
        {
            var configuration = await manager.GetConfigurationAsync(Context.RequestAborted);
            return new SigningKeySet(configuration.SigningKeys, configuration.Issuer);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // OpenIddict reports an unreachable configuration itself, as a validation failure.
            return null;
        }
    }
}

/// <summary>The signing keys OpenIddict trusts now, and the issuer it requires (null: the request's own address).</summary>
public readonly record struct SigningKeySet(IList<SecurityKey> Keys, Uri? Issuer)
{
    public bool Contains(SecurityKey key)
    {
        foreach (var candidate in Keys)
        {
            if (ReferenceEquals(candidate, key))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// What a validated token's answer depended on besides the token and the clock: the signing key that verified it and,
/// when no issuer is configured (OpenIddict then expects the request's own address), the address it was presented at.
/// </summary>
public sealed record TokenBinding(SecurityKey SigningKey, string? Scheme, string? Host, string? PathBase)
{
    /// <summary>The binding of a token just validated, or null when the verifying key cannot be told (not remembered then).</summary>
    public static TokenBinding? For(string bearerKey, SigningKeySet keys, HttpRequest request)
    {
        string? keyId;
        try
        {
            keyId = new JsonWebToken(bearerKey.AsSpan(7).Trim().ToString()).Kid;
        }
        catch (ArgumentException)
        {
            return null;
        }

        SecurityKey? match = null;
        foreach (var key in keys.Keys)
        {
            if (keyId is not null && string.Equals(key.KeyId, keyId, StringComparison.Ordinal))
            {
                if (match is not null)
                {
                    return null;
                }

                match = key;
            }
        }

        return match is null ? null
            : keys.Issuer is null ? new TokenBinding(match, request.Scheme, request.Host.Value, request.PathBase.Value)
            : new TokenBinding(match, null, null, null);
    }

    /// <summary>Whether OpenIddict would still accept the token on this request (besides its lifetime).</summary>
    public bool Holds(SigningKeySet keys, HttpRequest request) =>
        keys.Contains(SigningKey)
        && ((Host is null && keys.Issuer is not null)
            || (string.Equals(Scheme, request.Scheme, StringComparison.Ordinal)
                && string.Equals(Host, request.Host.Value, StringComparison.Ordinal)
                && string.Equals(PathBase, request.PathBase.Value, StringComparison.Ordinal)));
}

/// <summary>
/// The authentication schemes, except that requests to <c>/api/</c> are offered to no request-handling scheme before
/// authentication. The standard middleware offers every request to each of them first (OpenIddict's server, to find
/// its endpoints, and its validation, to prepare its state); no OpenID Connect endpoint lives under <c>/api/</c>, and
/// <see cref="BearerTokenHandler"/> prepares validation's state when it asks OpenIddict. For a token found in the
/// validated-token cache this saves building two handlers and two OpenIddict transactions per request
/// (docs/performance.md, "Contained authentication fast path").
/// </summary>
public sealed class ApiAuthenticationSchemes(IOptions<AuthenticationOptions> options, IHttpContextAccessor accessor)
    : AuthenticationSchemeProvider(options)
{
    private static readonly Task<IEnumerable<AuthenticationScheme>> None = Task.FromResult(Enumerable.Empty<AuthenticationScheme>());

    public override Task<IEnumerable<AuthenticationScheme>> GetRequestHandlerSchemesAsync() =>
        accessor.HttpContext?.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) == true
            ? None
            : base.GetRequestHandlerSchemesAsync();
}

public static class BearerTokenAuthentication
{
    /// <summary>Bearer tokens through <see cref="BearerTokenHandler"/>, the default scheme.</summary>
    public static AuthenticationBuilder AddBearerTokens(this AuthenticationBuilder builder)
    {
        builder.Services.AddSingleton<ValidatedTokenCache>();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton<IAuthenticationSchemeProvider, ApiAuthenticationSchemes>();
        return builder.AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(
            BearerTokenHandler.SchemeName, "Bearer (OpenIddict validation, validated-token cache)", null);
    }

    /// <summary>
    /// The API's authentication: bearer tokens by default, the sign-in session cookie for the sign-in pages, and
    /// <c>Dev</c> credentials only where <see cref="DevelopmentAuthentication"/> allows them.
    /// </summary>
    public static AuthenticationBuilder AddCleanCrmAuthentication(
        this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment) =>
        services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddBearerTokens()
            .AddSignInSession()
            .AddDevelopmentAuthentication(configuration, environment);
}
