using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;

namespace CleanCrm.Api.Security;

/// <summary>Identity settings (section <c>CleanCrm:Identity</c>).</summary>
public sealed class IdentityOptions
{
    public const string SectionName = "CleanCrm:Identity";

    /// <summary>
    /// RSA private key (PEM) that signs tokens; in production it comes from Key Vault
    /// (<c>…config--CleanCrm--Identity--SigningKey</c>).
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>RSA private key (PEM) that encrypts refresh tokens and authorization codes.</summary>
    public string? EncryptionKey { get; set; }

    /// <summary>Development/Testing only: where generated keys are kept so tokens survive restarts.</summary>
    public string? DevelopmentKeyDirectory { get; set; }

    /// <summary>
    /// Public base address of the API (e.g. https://api.cleancrm.example/); set it so every instance issues and accepts
    /// the same issuer.
    /// </summary>
    public Uri? Issuer { get; set; }

    /// <summary>
    /// When true, users who have not verified their email cannot sign in (the sign-in page mails a new link). Default false:
    /// they sign in and owners are reminded (docs/SECURITY.md, "Signing in").
    /// </summary>
    public bool RequireVerifiedEmail { get; set; }

    [System.ComponentModel.DataAnnotations.Range(1, 1440)]
    public int AccessTokenLifetimeMinutes { get; set; } = 15;

    [System.ComponentModel.DataAnnotations.Range(1, 365)]
    public int RefreshTokenLifetimeDays { get; set; } = 14;

    /// <summary>How many validated access tokens each API instance remembers until they expire (0 turns the cache off).</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 1_000_000)]
    public int ValidatedTokenCacheSize { get; set; } = 20_000;

    /// <summary>How often each instance reloads rotated signing keys from the catalog (docs/OPERATIONS.md).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 3600)]
    public int SigningKeyRefreshSeconds { get; set; } = 30;
}

public static class IdentitySetup
{
    public const string ApiScope = "api";
    public const string ApiResource = "cleancrm-api";

    public static void AddCleanCrmIdentity(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(IdentityOptions.SectionName).Get<IdentityOptions>() ?? new IdentityOptions();
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(
                options, new(options), problems, validateAllProperties: true))
        {
            throw new InvalidOperationException(string.Join(
                " ", problems.Select(p => $"{IdentityOptions.SectionName}:{string.Join(",", p.MemberNames)}: {p.ErrorMessage}")));
        }

        builder.Services.AddHostedService<CleanCrm.Infrastructure.Identity.SessionRevocationRefresher>();
        builder.Services.AddOptions<IdentityOptions>().Bind(builder.Configuration.GetSection(IdentityOptions.SectionName));
        var development = builder.Environment.IsDevelopment() || builder.Environment.IsEnvironment("Testing");
        var signing = LoadKey(options.SigningKey, options, development, "signing", $"{IdentityOptions.SectionName}:SigningKey");
        var encryption = LoadKey(options.EncryptionKey, options, development, "encryption", $"{IdentityOptions.SectionName}:EncryptionKey");

        builder.Services.AddOpenIddict()
            .AddServer(server =>
            {
                server.SetTokenEndpointUris("/connect/token")
                    .SetAuthorizationEndpointUris("/connect/authorize")
                    .SetEndSessionEndpointUris("/connect/logout")
                    .SetRevocationEndpointUris("/connect/revoke")
                    .SetUserInfoEndpointUris("/connect/userinfo");
                server.AllowPasswordFlow().AllowClientCredentialsFlow().AllowRefreshTokenFlow().AllowAuthorizationCodeFlow();
                server.RequireProofKeyForCodeExchange();
                server.RegisterScopes(
                    OpenIddictConstants.Scopes.OpenId, OpenIddictConstants.Scopes.Profile, OpenIddictConstants.Scopes.Email,
                    OpenIddictConstants.Scopes.OfflineAccess, ApiScope);
                // Signing keys come from the SigningKeyRing (configured key + rotated keys), below.
                server.AddEncryptionKey(encryption);
                if (options.Issuer is { } issuer)
                {
                    server.SetIssuer(issuer);
                }

                server.DisableAccessTokenEncryption();
                server.SetAccessTokenLifetime(TimeSpan.FromMinutes(options.AccessTokenLifetimeMinutes));
                server.SetRefreshTokenLifetime(TimeSpan.FromDays(options.RefreshTokenLifetimeDays));
                var aspNetCore = server.UseAspNetCore().EnableTokenEndpointPassthrough().EnableUserInfoEndpointPassthrough()
                    .EnableAuthorizationEndpointPassthrough().EnableEndSessionEndpointPassthrough();
                if (development)
                {
                    aspNetCore.DisableTransportSecurityRequirement();
                }
            })
            .AddValidation(validation =>
            {
                validation.UseLocalServer();
                validation.AddAudiences(ApiResource);
                validation.UseAspNetCore();
            });

        // Registered after OpenIddict's own configuration, so the ring's keys replace what it set up.
        builder.Services.AddSingleton(new SigningKeyRing(signing));
        builder.Services.AddSingleton<SigningKeyRingOptions>();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IConfigureOptions<OpenIddict.Server.OpenIddictServerOptions>>(
            sp => sp.GetRequiredService<SigningKeyRingOptions>());
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IOptionsChangeTokenSource<OpenIddict.Server.OpenIddictServerOptions>,
            SigningKeyRingChangeTokens<OpenIddict.Server.OpenIddictServerOptions>>();
        builder.Services.AddSingleton<
            Microsoft.Extensions.Options.IOptionsChangeTokenSource<OpenIddict.Validation.OpenIddictValidationOptions>,
            SigningKeyRingChangeTokens<OpenIddict.Validation.OpenIddictValidationOptions>>();
        builder.Services.AddHostedService<SigningKeyRefresher>();
        builder.Services.AddHttpClient(CleanCrm.Api.Endpoints.SsoSignInEndpoints.HttpClientName, client =>
            client.Timeout = TimeSpan.FromSeconds(10));
    }

    /// <summary>The cookie of the sign-in pages (<c>/account/*</c>), which the authorization endpoint reads.</summary>
    public static AuthenticationBuilder AddSignInSession(this AuthenticationBuilder builder) =>
        builder.AddCookie(CleanCrm.Api.Endpoints.SignInEndpoints.SessionScheme, cookie =>
        {
            cookie.Cookie.Name = "cleancrm.session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
            cookie.LoginPath = "/account/login";
            // The security stamp rides in the cookie; "sign out everywhere" and credential changes give the user a new one, which
            // ends this cookie on its next request on any instance (docs/SECURITY.md, "Sessions"). Only the sign-in pages and
            // the authorization endpoint read this cookie, so the lookup per request is cheap.
            cookie.Events.OnSigningIn = async context =>
            {
                // The password pages put the stamp they checked in already; the SSO callback leaves it to this event.
                if (context.Principal?.Identity is ClaimsIdentity identity && identity.FindFirst(CleanCrmClaims.SecurityStamp) is null
                    && await StampAsync(context.HttpContext, identity) is { } stamp)
                {
                    identity.AddClaim(new Claim(CleanCrmClaims.SecurityStamp, stamp));
                }
            };
            cookie.Events.OnValidatePrincipal = async context =>
            {
                if (context.Principal?.Identity is not ClaimsIdentity identity
                    || identity.FindFirst(CleanCrmClaims.SecurityStamp)?.Value is not { } stamp
                    || await StampAsync(context.HttpContext, identity) != stamp)
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(CleanCrm.Api.Endpoints.SignInEndpoints.SessionScheme);
                }
            };
        }).AddCookie(CleanCrm.Api.Endpoints.Account.AccountEndpoints.TwoFactorScheme, cookie =>
        {
            // Between the password and the second factor only: short, and never a session by itself.
            cookie.Cookie.Name = "cleancrm.two-factor";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.Path = "/account";
            cookie.ExpireTimeSpan = TimeSpan.FromMinutes(10);
            cookie.SlidingExpiration = false;
        });

    private static async Task<string?> StampAsync(HttpContext context, ClaimsIdentity identity)
    {
        if (!Guid.TryParse(identity.FindFirst(OpenIddictConstants.Claims.Subject)?.Value, out var userId))
        {
            return null;
        }

        var catalog = context.RequestServices
            .GetRequiredService<IDbContextFactory<CleanCrm.Infrastructure.Persistence.Catalog.CatalogDbContext>>();
        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        return await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.SecurityStamp)
            .FirstOrDefaultAsync(context.RequestAborted);
    }

    private static RsaSecurityKey LoadKey(string? pem, IdentityOptions options, bool development, string name, string setting)
    {
        var rsa = RSA.Create();
        if (!string.IsNullOrWhiteSpace(pem))
        {
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa) { KeyId = KeyId(rsa) };
        }

        if (!development)
        {
            throw new InvalidOperationException(
                $"{setting} is required outside Development: an RSA private key in PEM, loaded from the secret store.");
        }

        // Development keeps generated keys on disk so tokens stay valid across restarts.
        var directory = options.DevelopmentKeyDirectory ?? Path.Combine(AppContext.BaseDirectory, ".keys");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{name}.pem");
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            rsa.KeySize = 2048;
            File.WriteAllText(path, rsa.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return new RsaSecurityKey(rsa) { KeyId = KeyId(rsa) };
    }

    private static string KeyId(RSA rsa) => CleanCrm.Infrastructure.Identity.SigningKeyStore.KeyIdOf(rsa);
}
