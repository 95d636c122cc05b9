using CleanCrm.Api.Endpoints.Account;
using CleanCrm.Api.Security;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// The interactive side of the OpenID Connect server: the server-rendered sign-in page (cookie session), the
/// authorization endpoint (code + PKCE for cleancrm-spa) and end-session.
/// </summary>
public static class SignInEndpoints
{
    public const string SessionScheme = "CleanCrm.Session";

    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/connect/authorize", ["GET", "POST"], (Delegate)AuthorizeAsync).ExcludeFromDescription().AllowAnonymous();
        app.MapMethods("/connect/logout", ["GET", "POST"], (Delegate)LogoutAsync).ExcludeFromDescription().AllowAnonymous();
        app.MapAccountPages();
        return app;
    }

    private static async Task<IResult> AuthorizeAsync(
        HttpContext context, IDbContextFactory<CatalogDbContext> catalog, CleanCrm.Infrastructure.Identity.UserSessionStore sessions)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        var session = await context.AuthenticateAsync(SessionScheme);
        if (!session.Succeeded)
        {
            var returnUrl = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
            return Results.Redirect("/account/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
        }

        var userId = Guid.TryParse(session.Principal!.FindFirst(OpenIddictConstants.Claims.Subject)?.Value, out var id) ? id : Guid.Empty;
        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, context.RequestAborted);
        // A password reset or change (new security stamp) ends browser sessions too, not only refresh tokens.
        if (user is null || session.Principal.FindFirst(CleanCrmClaims.SecurityStamp)?.Value != user.SecurityStamp)
        {
            await context.SignOutAsync(SessionScheme);
            var returnUrl = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
            return Results.Redirect("/account/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
        }

        var methods = session.Principal.FindAll(AccountEndpoints.AuthenticationMethodsClaim).Select(c => c.Value).ToArray();
        var principal = TokenEndpoints.UserPrincipal(user, request.GetScopes(), methods);
        await sessions.StartAsync(principal, request.ClientId, TokenEndpoints.UserAgent(context), TokenEndpoints.IpAddress(context),
            context.RequestAborted);
        return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context)
    {
        await context.SignOutAsync(SessionScheme);
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/" },
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }
}
