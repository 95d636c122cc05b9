using System.Collections.Immutable;
using System.Security.Claims;
using CleanCrm.Api.Security;
using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Identity;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// The token endpoint's decisions (OpenIddict does the protocol): password grant for first-party clients, refresh with
/// a security-stamp check, client credentials for org-bound API clients. Unknown email and wrong password get the same
/// answer after the same hashing work, so accounts cannot be enumerated.
/// </summary>
public static class TokenEndpoints
{
    public const int MaxFailedSignIns = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private static readonly string[] PasswordMethods = ["pwd"];

    private static readonly string DummyHash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Guid.NewGuid().ToString());

    public static IEndpointRouteBuilder MapTokenEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/connect/token", ExchangeAsync).ExcludeFromDescription().AllowAnonymous();
        app.MapMethods("/connect/userinfo", ["GET", "POST"], UserInfoAsync).ExcludeFromDescription()
            .RequireAuthorization(policy => policy.AddAuthenticationSchemes(
                OpenIddict.Validation.AspNetCore.OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme).RequireAuthenticatedUser());
        return app;
    }

    private static async Task<IResult> ExchangeAsync(
        HttpContext context,
        IDbContextFactory<CatalogDbContext> catalog,
        IPasswordHashing passwords,
        IOpenIddictApplicationManager applications,
        AccountSignInThrottle throttle,
        AccountSecurity security,
        IOptions<IdentityOptions> options,
        UserSessionStore sessions,
        CleanCrm.Application.Common.Identity.IHomeRealmDiscovery realms,
        TimeProvider clock)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        if (request.IsPasswordGrantType())
        {
            if (!throttle.TryAcquire(request.Username ?? string.Empty, out var retryAfter))
            {
                return AccountSignInThrottle.TooManyAttempts(context, retryAfter);
            }

            // An organization that enforces its identity provider refuses passwords for its domains (docs/SECURITY.md).
            if (await realms.FindAsync(request.Username ?? string.Empty, context.RequestAborted) is { Enforced: true } realm)
            {
                return Refuse(Errors.InvalidGrant, $"This account signs in with {realm.DisplayName} (single sign-on), not a password.");
            }

            var user = await VerifyPasswordAsync(db, passwords, clock, request.Username ?? string.Empty, request.Password ?? string.Empty,
                context.RequestAborted);
            if (user is null)
            {
                return Refuse(Errors.InvalidGrant, "The email or password is incorrect.");
            }

            // A password alone is not enough for these accounts: the browser flow asks for the second factor (or enrolment).
            if (user.TwoFactorEnabled || await security.TwoFactorRequiredAsync(user.Id, context.RequestAborted))
            {
                return Refuse(Errors.InvalidGrant, "This account signs in with two-factor authentication, which the password grant "
                    + "cannot ask for; sign in through the browser (/connect/authorize, authorization code + PKCE).");
            }

            if (options.Value.RequireVerifiedEmail && user.EmailVerifiedAt is null)
            {
                return Refuse(Errors.InvalidGrant, "Verify your email address first (the link is in your inbox).");
            }

            var principal = UserPrincipal(user, request.GetScopes(), PasswordMethods);
            await sessions.StartAsync(principal, request.ClientId, UserAgent(context), IpAddress(context), context.RequestAborted);
            return SignIn(principal);
        }

        if (request.IsAuthorizationCodeGrantType())
        {
            var granted = (await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
            var userId = Guid.TryParse(granted?.GetClaim(Claims.Subject), out var id) ? id : Guid.Empty;
            var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, context.RequestAborted);
            return user is null || granted is null
                ? Refuse(Errors.InvalidGrant, "The account no longer exists.")
                : SignIn(UserPrincipal(user, granted!.GetScopes(), granted!.GetClaims(Claims.AuthenticationMethodReference))
                    .SetAuthorizationId(granted.GetAuthorizationId()));
        }

        if (request.IsRefreshTokenGrantType())
        {
            var previous = (await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
            var userId = Guid.TryParse(previous?.GetClaim(Claims.Subject), out var id) ? id : Guid.Empty;
            var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, context.RequestAborted);
            if (user is null || previous is null || previous.GetClaim(CleanCrmClaims.SecurityStamp) != user.SecurityStamp)
            {
                return Refuse(Errors.InvalidGrant, "The refresh token is no longer valid; sign in again.");
            }

            // The refreshed tokens stay in the session (the refresh-token chain) the previous ones belonged to.
            var session = previous!.GetAuthorizationId();
            await sessions.TouchAsync(session, UserAgent(context), IpAddress(context), context.RequestAborted);
            return SignIn(UserPrincipal(user, previous.GetScopes(), previous.GetClaims(Claims.AuthenticationMethodReference))
                .SetAuthorizationId(session));
        }

        if (request.IsClientCredentialsGrantType())
        {
            var application = await applications.FindByClientIdAsync(request.ClientId!, context.RequestAborted)
                              ?? throw new InvalidOperationException("OpenIddict validated a client that does not exist.");
            var properties = await applications.GetPropertiesAsync(application, context.RequestAborted);
            if (!properties.TryGetValue(CleanCrmClaims.Organization, out var org)
                || !properties.TryGetValue(CleanCrmClaims.OrganizationRole, out var role))
            {
                return Refuse(Errors.UnauthorizedClient, "This client is not bound to an organization.");
            }

            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, await applications.GetIdAsync(application, context.RequestAborted))
                .SetClaim(Claims.Name, await applications.GetDisplayNameAsync(application, context.RequestAborted))
                .SetClaim(CleanCrmClaims.Organization, org.GetString())
                .SetClaim(CleanCrmClaims.OrganizationRole, role.GetString());
            identity.SetScopes(request.GetScopes().Intersect([IdentitySetup.ApiScope]));
            identity.SetResources(IdentitySetup.ApiResource);
            identity.SetDestinations(_ => [Destinations.AccessToken]);
            return SignIn(new ClaimsPrincipal(identity));
        }

        return Refuse(Errors.UnsupportedGrantType, "This grant type is not supported.");
    }

    /// <summary>
    /// Checks a password with lockout. Unknown emails cost the same hashing work and get the same null as a wrong
    /// password or a locked account, so callers cannot tell which it was.
    /// </summary>
    public static async Task<UserAccount?> VerifyPasswordAsync(CatalogDbContext db, IPasswordHashing passwords, TimeProvider clock,
        string email, string password, CancellationToken cancellationToken)
    {
        var normalized = UserAccount.Normalize(email);
        var user = await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == normalized, cancellationToken);
        var now = clock.GetUtcNow();
        if (user is null || user.PasswordHash is null || user.LockoutEndsAt > now)
        {
            passwords.Verify(DummyHash, password);
            return null;
        }

        if (!passwords.Verify(user.PasswordHash, password))
        {
            user.AccessFailedCount++;
            if (user.AccessFailedCount >= MaxFailedSignIns)
            {
                user.LockoutEndsAt = now.Add(LockoutDuration);
                user.AccessFailedCount = 0;
            }

            await db.SaveChangesAsync(cancellationToken);
            return null;
        }

        if (user.AccessFailedCount > 0 || user.LockoutEndsAt is not null)
        {
            user.AccessFailedCount = 0;
            user.LockoutEndsAt = null;
            await db.SaveChangesAsync(cancellationToken);
        }

        return user;
    }

    private static async Task<IResult> UserInfoAsync(HttpContext context, IDbContextFactory<CatalogDbContext> catalog)
    {
        var userId = Guid.TryParse(context.User.FindFirst(Claims.Subject)?.Value, out var id) ? id : Guid.Empty;
        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, context.RequestAborted);
        return user is null
            ? Results.Challenge(
                authenticationSchemes: [OpenIddict.Validation.AspNetCore.OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme])
            : Results.Ok(
                new Dictionary<string, object> { [Claims.Subject] = user.Id, [Claims.Email] = user.Email, [Claims.Name] = user.Name });
    }

    /// <summary>
    /// The user's token principal. <paramref name="methods"/> become the <c>amr</c> claim (RFC 8176): <c>pwd</c> for a
    /// password, plus <c>otp</c> and <c>mfa</c> after a TOTP code (<c>mfa</c> alone after a recovery code).
    /// </summary>
    public static ClaimsPrincipal UserPrincipal(UserAccount user, ImmutableArray<string> requestedScopes, IEnumerable<string> methods)
    {
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Id.ToString())
            .SetClaim(Claims.Email, user.Email)
            .SetClaim(Claims.Name, user.Name)
            .SetClaim(CleanCrmClaims.SecurityStamp, user.SecurityStamp);
        identity.SetClaims(Claims.AuthenticationMethodReference, [.. methods.Distinct(StringComparer.Ordinal)]);
        if (user.IsPlatformAdmin)
        {
            identity.SetClaim(CleanCrmClaims.PlatformAdmin, "true");
        }

        string[] allowed = [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, IdentitySetup.ApiScope];
        identity.SetScopes(requestedScopes.Intersect(allowed));
        identity.SetResources(IdentitySetup.ApiResource);
        identity.SetDestinations(claim => claim.Type switch
        {
            CleanCrmClaims.SecurityStamp => [],
            // The provisioning console admits platform admins by their identity token (docs/CONSOLE.md).
            Claims.Name or Claims.Email or CleanCrmClaims.PlatformAdmin or Claims.AuthenticationMethodReference =>
                [Destinations.AccessToken, Destinations.IdentityToken],
            _ => [Destinations.AccessToken],
        });
        return new ClaimsPrincipal(identity);
    }

    public static string? UserAgent(HttpContext context) => context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent
        ? agent : null;

    public static string? IpAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

    private static IResult SignIn(ClaimsPrincipal principal) =>
        Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);

    private static IResult Refuse(string error, string description) =>
        Results.Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
            }),
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
