using System.Globalization;
using System.Net;
using CleanCrm.Application.Me.Queries.GetPlatformAdminStatus;
using Mediator;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace CleanCrm.Console.Security;

/// <summary>
/// Sign-in: a cookie session created by the standard OpenID Connect handler (code + PKCE, confidential client
/// <c>cleancrm-console</c>) against the API's OpenID server. Only platform admins pass the authorization policy; the flag is
/// checked again against the catalog every few minutes so a revoked admin is signed out (docs/CONSOLE.md).
/// </summary>
public static class ConsoleAuthentication
{
    public const string ClientId = "cleancrm-console";
    public const string PlatformAdminPolicy = "PlatformAdmin";
    public const string PlatformAdminClaim = "platform_admin";
    public const string SubjectClaim = "sub";
    private const string CheckedAtItem = ".cleancrm.admin_checked_at";

    public static void AddConsoleAuthentication(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(ConsoleOptions.SectionName).Get<ConsoleOptions>() ?? new ConsoleOptions();
        var development = builder.Environment.IsDevelopment() || builder.Environment.IsEnvironment("Testing");
        builder.Services.AddAuthentication(auth =>
            {
                auth.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                auth.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
            })
            .AddCookie(cookie =>
            {
                cookie.Cookie.Name = "cleancrm.console";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
                cookie.SlidingExpiration = true;
                cookie.Events.OnRedirectToAccessDenied = context =>
                {
                    // The "Access denied" page is rendered in place with 403 (status code pages), not behind a redirect.
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
                cookie.Events.OnValidatePrincipal = context => RecheckPlatformAdminAsync(
                    context, TimeSpan.FromMinutes(Math.Max(1, options.AdminRecheckMinutes)));
            })
            .AddOpenIdConnect(oidc =>
            {
                oidc.Authority = options.ApiBaseUrl?.ToString();
                oidc.ClientId = ClientId;
                oidc.ClientSecret = options.ClientSecret;
                oidc.ResponseType = OpenIdConnectResponseType.Code;
                // The code comes back on a top-level GET, so the correlation and nonce cookies can stay SameSite=Lax
                // (form_post would need SameSite=None, which browsers drop on plain-HTTP loopback).
                oidc.ResponseMode = OpenIdConnectResponseMode.Query;
                oidc.UsePkce = true;
                oidc.PushedAuthorizationBehavior = PushedAuthorizationBehavior.Disable;
                oidc.MapInboundClaims = false;
                oidc.SaveTokens = true; // the id_token is the id_token_hint of sign-out
                oidc.GetClaimsFromUserInfoEndpoint = false;
                oidc.Scope.Clear();
                oidc.Scope.Add("openid");
                oidc.Scope.Add("profile");
                oidc.Scope.Add("email");
                oidc.TokenValidationParameters.NameClaimType = "name";
                oidc.CallbackPath = "/signin-oidc";
                oidc.SignedOutCallbackPath = "/signout-callback-oidc";
                oidc.RequireHttpsMetadata = !development && !IsLoopback(options.ApiBaseUrl);
                oidc.CorrelationCookie.SameSite = SameSiteMode.Lax;
                oidc.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                oidc.NonceCookie.SameSite = SameSiteMode.Lax;
                oidc.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                oidc.Events.OnTicketReceived = context =>
                {
                    context.Properties?.Items[CheckedAtItem] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
                    return Task.CompletedTask;
                };
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(PlatformAdminPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(PlatformAdminClaim, "true"))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim(PlatformAdminClaim, "true")
                .Build());
    }

    /// <summary>Loopback authorities (local runs, tests) may serve their metadata over plain HTTP.</summary>
    public static bool IsLoopback(Uri? authority) =>
        authority is not null && (authority.IsLoopback || (IPAddress.TryParse(authority.Host, out var ip) && IPAddress.IsLoopback(ip)));

    private static async Task RecheckPlatformAdminAsync(CookieValidatePrincipalContext context, TimeSpan interval)
    {
        var now = DateTimeOffset.UtcNow;
        if (context.Properties.Items.TryGetValue(CheckedAtItem, out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var checkedAt)
            && now - checkedAt < interval)
        {
            return;
        }

        var services = context.HttpContext.RequestServices;
        services.GetRequiredService<ConsoleCallerContext>().Principal = context.Principal;
        var status = await services.GetRequiredService<ISender>().Send(new GetPlatformAdminStatus(), context.HttpContext.RequestAborted);
        if (!status.IsSuccess || !status.Value.IsPlatformAdmin)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }

        context.Properties.Items[CheckedAtItem] = now.ToString("O", CultureInfo.InvariantCulture);
        context.ShouldRenew = true;
    }
}
