using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CleanCrm.Api.Security;

/// <summary>
/// Credentials for local development and tests without a token grant:
/// <c>Authorization: Dev user=&lt;id&gt;[;org=&lt;id&gt;;role=&lt;role&gt;][;admin]</c>. It can only be switched on in the
/// Development and Testing environments; start-up fails anywhere else.
/// </summary>
public sealed class DevelopmentAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
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
        var parts = header[(SchemeName.Length + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var part in parts)
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

    /// <summary>
    /// When <see cref="EnabledSetting"/> is true, requests whose <c>Authorization</c> starts with <c>Dev </c> are
    /// forwarded from the default bearer scheme to the development handler; otherwise the scheme does not exist.
    /// </summary>
    public static AuthenticationBuilder AddDevelopmentAuthentication(
        this AuthenticationBuilder builder, IConfiguration configuration, IHostEnvironment environment)
    {
        if (!configuration.GetValue<bool>(EnabledSetting))
        {
            return builder;
        }

        if (!environment.IsDevelopment() && !environment.IsEnvironment("Testing"))
        {
            throw new InvalidOperationException(
                $"{EnabledSetting} is true in the {environment.EnvironmentName} environment; development authentication is only allowed in "
                + "Development and Testing.");
        }

        builder.Services.Configure<AuthenticationSchemeOptions>(BearerTokenHandler.SchemeName, options =>
            options.ForwardDefaultSelector = context =>
                IsDevelopmentCredential(context.Request) ? DevelopmentAuthenticationHandler.SchemeName : null);
        return builder.AddScheme<AuthenticationSchemeOptions, DevelopmentAuthenticationHandler>(
            DevelopmentAuthenticationHandler.SchemeName, null);
    }

    private static bool IsDevelopmentCredential(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith(DevelopmentAuthenticationHandler.SchemeName + " ", StringComparison.Ordinal);
}
