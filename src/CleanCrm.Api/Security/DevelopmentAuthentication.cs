using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CleanCrm.Api.Security;

/// <summary>
/// Stand-in for real tokens until the OpenID Connect server lands: <c>Authorization: Dev user=&lt;id&gt;[;org=&lt;id&gt;;role=&lt;role&gt;][;admin]</c>.
/// It can only be switched on in the Development and Testing environments; start-up fails anywhere else.
/// </summary>
public sealed class DevelopmentAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Dev";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(SchemeName + " ", StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var claims = new List<Claim>();
        foreach (var part in header[(SchemeName.Length + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (key, value) = part.Split('=', 2) is [var k, var v] ? (k, v) : (part, "true");
            switch (key)
            {
                case "user" when Guid.TryParse(value, out var id):
                    claims.Add(new Claim(CleanCrmClaims.Subject, id.ToString()));
                    break;
                case "org" when Guid.TryParse(value, out var org):
                    claims.Add(new Claim(CleanCrmClaims.Organization, org.ToString()));
                    break;
                case "role":
                    claims.Add(new Claim(CleanCrmClaims.OrganizationRole, value));
                    break;
                case "admin":
                    claims.Add(new Claim(CleanCrmClaims.PlatformAdmin, "true"));
                    break;
                default:
                    return Task.FromResult(AuthenticateResult.Fail($"Unknown or malformed Dev credential part '{key}'."));
            }
        }

        if (!claims.Any(c => c.Type == CleanCrmClaims.Subject))
        {
            return Task.FromResult(AuthenticateResult.Fail("A Dev credential needs user=<uuid>."));
        }

        var identity = new ClaimsIdentity(claims, SchemeName, CleanCrmClaims.Subject, CleanCrmClaims.OrganizationRole);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

public static class DevelopmentAuthentication
{
    public const string EnabledSetting = "CleanCrm:DevelopmentAuthentication:Enabled";

    public static AuthenticationBuilder AddCleanCrmAuthentication(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var enabled = configuration.GetValue<bool>(EnabledSetting);
        if (enabled && !environment.IsDevelopment() && !environment.IsEnvironment("Testing"))
        {
            throw new InvalidOperationException(
                $"{EnabledSetting} is true in the {environment.EnvironmentName} environment; development authentication is only allowed in Development and Testing.");
        }

        // Bearer tokens from the OpenID Connect server always; "Dev ..." credentials only when explicitly enabled.
        services.AddOptions<IdentityOptions>().Bind(configuration.GetSection(IdentityOptions.SectionName));
        services.AddSingleton<ValidatedTokenCache>();
        var builder = services.AddAuthentication(IdentitySetup.PolicyScheme)
            .AddPolicyScheme(IdentitySetup.PolicyScheme, "Bearer or development credentials", options =>
                options.ForwardDefaultSelector = context => IdentitySetup.SelectScheme(context, enabled))
            .AddScheme<AuthenticationSchemeOptions, CachedBearerHandler>(CachedBearerHandler.SchemeName, "Bearer (validated-token cache over OpenIddict)", null)
            .AddCookie(CleanCrm.Api.Endpoints.SignInEndpoints.SessionScheme, cookie =>
            {
                cookie.Cookie.Name = "cleancrm.session";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
                cookie.LoginPath = "/account/login";
            });
        return enabled ? builder.AddScheme<AuthenticationSchemeOptions, DevelopmentAuthenticationHandler>(DevelopmentAuthenticationHandler.SchemeName, null) : builder;
    }
}
