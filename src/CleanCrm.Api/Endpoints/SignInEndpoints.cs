using System.Net;
using System.Security.Claims;
using CleanCrm.Api.Security;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
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
        app.MapGet("/account/login", (HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
            LoginPage(context, antiforgery, returnUrl, error: null)).ExcludeFromDescription().AllowAnonymous();
        app.MapPost("/account/login", LoginAsync).ExcludeFromDescription().AllowAnonymous();
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
        if (user is null)
        {
            await context.SignOutAsync(SessionScheme);
            return Results.Redirect("/account/login");
        }

        var principal = TokenEndpoints.UserPrincipal(user, request.GetScopes());
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

    private static async Task<IResult> LoginAsync(
        HttpContext context,
        IAntiforgery antiforgery,
        IDbContextFactory<CatalogDbContext> catalog,
        IPasswordHashing passwords,
        AccountSignInThrottle throttle,
        TimeProvider clock)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.BadRequest();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = form["returnUrl"].ToString();
        if (!IsAuthorizeUrl(returnUrl))
        {
            returnUrl = "/";
        }

        if (!throttle.TryAcquire(form["email"].ToString(), out var retryAfter))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))
                .ToString(System.Globalization.CultureInfo.InvariantCulture);
            return LoginPage(context, antiforgery, returnUrl, "Too many sign-in attempts for this account; wait a minute and try again.");
        }

        await using var db = await catalog.CreateDbContextAsync(context.RequestAborted);
        var user = await TokenEndpoints.VerifyPasswordAsync(db, passwords, clock, form["email"].ToString(), form["password"].ToString(),
            context.RequestAborted);
        if (user is null)
        {
            return LoginPage(context, antiforgery, returnUrl, "The email or password is incorrect.");
        }

        var identity = new ClaimsIdentity(SessionScheme, OpenIddictConstants.Claims.Name, OpenIddictConstants.Claims.Role);
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Subject, user.Id.ToString()));
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Name, user.Name));
        await context.SignInAsync(SessionScheme, new ClaimsPrincipal(identity));
        return Results.Redirect(returnUrl);
    }

    // Only the authorization endpoint of this server: never an open redirect.
    private static bool IsAuthorizeUrl(string url) =>
        url.StartsWith("/connect/authorize?", StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal)
            && !url.Contains('\\', StringComparison.Ordinal);

    private static IResult LoginPage(HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? error)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        Func<string?, string?> encode = WebUtility.HtmlEncode;
        var message = error is null ? string.Empty : $"<p role=\"alert\">{encode(error)}</p>";
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Sign in to CleanCrm</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body><main><h1>Sign in to CleanCrm</h1>{message}
            <form method="post" action="/account/login">
            <input type="hidden" name="{encode(tokens.FormFieldName)}" value="{encode(tokens.RequestToken ?? string.Empty)}">
            <input type="hidden" name="returnUrl" value="{encode(returnUrl ?? string.Empty)}">
            <label>Email <input type="email" name="email" autocomplete="username" required></label>
            <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
            <button type="submit">Sign in</button>
            </form></main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", statusCode: error is null
            ? 200
            : context.Response.StatusCode == StatusCodes.Status429TooManyRequests ? 429 : 400);
    }
}
