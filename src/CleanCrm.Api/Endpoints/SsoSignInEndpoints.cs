using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CleanCrm.Api.Security;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Sso.Commands.SignInWithSso;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Mediator;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// Sign-in through an organization's identity provider (docs/SECURITY.md, "Enterprise SSO"; ADR 0014): authorization
/// code + PKCE + nonce against the provider, the ID token validated here (issuer, audience, signature from the provider's
/// JWKS, lifetime, nonce), then the sign-in page's cookie session for the linked or just-provisioned user.
/// </summary>
public static class SsoSignInEndpoints
{
    public const string HttpClientName = "CleanCrm.Sso";
    private const string CookieName = "cleancrm.sso";
    private const string CallbackPath = "/account/sso/callback";
    private static readonly TimeSpan FlowLifetime = TimeSpan.FromMinutes(10);

    public static IEndpointRouteBuilder MapSsoSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet("/account/sso/{providerId:guid}/start", StartAsync).ExcludeFromDescription().AllowAnonymous();
        app.MapGet(CallbackPath, CallbackAsync).ExcludeFromDescription().AllowAnonymous();
        return app;
    }

    private static async Task<IResult> StartAsync(
        Guid providerId, string? returnUrl, HttpContext context, IDbContextFactory<CatalogDbContext> catalog, IHttpClientFactory http,
        IMemoryCache cache, IDataProtectionProvider protection, TimeProvider clock)
    {
        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        var provider = await db.IdentityProviders.AsNoTracking()
            .FirstOrDefaultAsync(p => p.Id == providerId && p.Organization!.Status == OrganizationStatus.Active, context.RequestAborted);
        if (provider is null)
        {
            return Page(404, "This single sign-on link is not valid.");
        }

        var metadata = await MetadataAsync(provider, http, cache, context.RequestAborted);
        if (metadata is null)
        {
            return Page(502, $"{provider.DisplayName} could not be reached; try again later.");
        }

        var flow = new Flow(provider.Id, Random(), Random(), Random(), IsAuthorizeUrl(returnUrl) ? returnUrl! : "/",
            clock.GetUtcNow() + FlowLifetime);
        context.Response.Cookies.Append(CookieName, Protector(protection).Protect(JsonSerializer.Serialize(flow)), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = context.Request.IsHttps,
            Path = "/account/sso",
            MaxAge = FlowLifetime,
        });
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(flow.Verifier)));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = provider.ClientId,
            ["redirect_uri"] = RedirectUri(context),
            ["scope"] = "openid email profile",
            ["state"] = flow.State,
            ["nonce"] = flow.Nonce,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        };
        return Results.Redirect(Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(metadata.AuthorizationEndpoint, query));
    }

    private static async Task<IResult> CallbackAsync(
        string? code, string? state, string? error, HttpContext context, IDbContextFactory<CatalogDbContext> catalog,
        IHttpClientFactory http, IMemoryCache cache, IDataProtectionProvider protection, ISecretStore secrets, IMediator mediator,
        TimeProvider clock, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(SsoSignInEndpoints).FullName!);
        var flow = ReadFlow(context, protection);
        context.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/account/sso" });
        if (flow is null || flow.ExpiresAt < clock.GetUtcNow() || state is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(state), Encoding.UTF8.GetBytes(flow.State)))
        {
            return Page(400, "This sign-in took too long or was started elsewhere; start again from the sign-in page.");
        }

        if (error is not null || string.IsNullOrEmpty(code))
        {
            return Page(400, "The identity provider did not sign you in.");
        }

        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        var provider = await db.IdentityProviders.AsNoTracking().FirstOrDefaultAsync(p => p.Id == flow.ProviderId, context.RequestAborted);
        var metadata = provider is null ? null : await MetadataAsync(provider, http, cache, context.RequestAborted);
        if (provider is null || metadata is null)
        {
            return Page(400, "This single sign-on is no longer configured.");
        }

        var client = http.CreateClient(HttpClientName);
        using var response = await client.PostAsync(metadata.TokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri(context),
            ["client_id"] = provider.ClientId,
            ["client_secret"] = await secrets.GetAsync(provider.ClientSecretName, context.RequestAborted) ?? string.Empty,
            ["code_verifier"] = flow.Verifier,
        }), context.RequestAborted);
        var idToken = response.IsSuccessStatusCode
            && JsonDocument.Parse(await response.Content.ReadAsStringAsync(context.RequestAborted)).RootElement
                .TryGetProperty("id_token", out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
        if (idToken is null)
        {
            return Page(400, "The identity provider refused the sign-in.");
        }

        var keys = await KeysAsync(metadata, http, context.RequestAborted);
        var validated = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = provider.Issuer,
            ValidAudience = provider.ClientId,
            IssuerSigningKeys = keys,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromMinutes(2),
        });
        var claims = validated.IsValid ? validated.ClaimsIdentity : null;
        var nonce = claims?.FindFirst("nonce")?.Value;
        if (claims is null || nonce is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(nonce), Encoding.UTF8.GetBytes(flow.Nonce)))
        {
            LogRefused(logger, provider.Id, validated.Exception?.Message ?? "nonce mismatch");
            return Page(400, "The identity provider's answer could not be verified.");
        }

        var email = claims.FindFirst("email")?.Value;
        var verified = claims.FindFirst("email_verified")?.Value;
        if (email is null || !string.Equals(verified, "true", StringComparison.OrdinalIgnoreCase))
        {
            return Page(400, "The identity provider did not assert a verified email address.");
        }

        var user = await mediator.Send(new SignInWithSso(provider.Id, email, claims.FindFirst("name")?.Value), context.RequestAborted);
        if (!user.IsSuccess)
        {
            return Page(403, user.Error!.Detail);
        }

        var identity = new ClaimsIdentity(SignInEndpoints.SessionScheme, OpenIddictConstants.Claims.Name, OpenIddictConstants.Claims.Role);
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Subject, user.Value.ToString()));
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Name, claims.FindFirst("name")?.Value ?? email));
        identity.AddClaim(new Claim("amr", "fed"));
        await context.SignInAsync(SignInEndpoints.SessionScheme, new ClaimsPrincipal(identity));
        return Results.Redirect(flow.ReturnUrl);
    }

    private static void LogRefused(ILogger logger, Guid providerId, string reason) =>
        logger.LogWarning("SSO sign-in through provider {ProviderId} refused: {Reason}", providerId, reason);

    private static string RedirectUri(HttpContext context)
    {
        var issuer = context.RequestServices.GetRequiredService<IOptions<Security.IdentityOptions>>().Value.Issuer;
        return issuer is not null
            ? new Uri(issuer, CallbackPath.TrimStart('/')).AbsoluteUri
            : $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{CallbackPath}";
    }

    private static async Task<Metadata?> MetadataAsync(
        OrganizationIdentityProvider provider, IHttpClientFactory http, IMemoryCache cache, CancellationToken cancellationToken)
    {
        var key = $"sso-metadata:{provider.Issuer}";
        if (cache.TryGetValue(key, out Metadata? known))
        {
            return known;
        }

        try
        {
            var document = await http.CreateClient(HttpClientName).GetFromJsonAsync<JsonElement>(
                provider.Issuer.TrimEnd('/') + "/.well-known/openid-configuration", cancellationToken);
            // The discovery document must name the configured issuer (OpenID Connect Discovery, section 4.3).
            if (document.GetProperty("issuer").GetString() != provider.Issuer)
            {
                return null;
            }

            var metadata = new Metadata(document.GetProperty("authorization_endpoint").GetString()!,
                document.GetProperty("token_endpoint").GetString()!, document.GetProperty("jwks_uri").GetString()!);
            cache.Set(key, metadata, TimeSpan.FromMinutes(10));
            return metadata;
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or KeyNotFoundException
            or InvalidOperationException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task<IList<SecurityKey>> KeysAsync(Metadata metadata, IHttpClientFactory http, CancellationToken cancellationToken)
    {
        var json = await http.CreateClient(HttpClientName).GetStringAsync(metadata.JwksUri, cancellationToken);
        return new JsonWebKeySet(json).GetSigningKeys();
    }

    private static Flow? ReadFlow(HttpContext context, IDataProtectionProvider protection)
    {
        if (!context.Request.Cookies.TryGetValue(CookieName, out var value))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Flow>(Protector(protection).Unprotect(value));
        }
        catch (Exception exception) when (exception is CryptographicException or JsonException)
        {
            return null;
        }
    }

    private static IDataProtector Protector(IDataProtectionProvider protection) => protection.CreateProtector("CleanCrm.Sso.Flow.v1");

    private static string Random() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    // Only the authorization endpoint of this server: never an open redirect.
    private static bool IsAuthorizeUrl(string? url) =>
        url is not null && url.StartsWith("/connect/authorize?", StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal)
        && !url.Contains('\\', StringComparison.Ordinal);

    private static IResult Page(int status, string message)
    {
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Single sign-on - CleanCrm</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body><main><h1>Single sign-on</h1><p role="alert">{WebUtility.HtmlEncode(message)}</p>
            <p><a href="/account/login">Back to sign in</a></p></main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private sealed record Flow(Guid ProviderId, string State, string Nonce, string Verifier, string ReturnUrl, DateTimeOffset ExpiresAt);

    private sealed record Metadata(string AuthorizationEndpoint, string TokenEndpoint, string JwksUri);
}
