using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace CleanCrm.Api.Security;

/// <summary>
/// <c>UseAuthentication</c>, minus the OpenID Connect server's request processing on <c>/api/</c> paths. The standard
/// middleware offers every request to each request-handling scheme first (OpenIddict's server inspects it to see whether
/// it is one of its endpoints, with a dozen handlers resolved from DI per request); no OpenID Connect endpoint lives
/// under <c>/api/</c>, so API requests go straight to the default authenticate scheme. Every other path (the
/// <c>/connect/*</c> and <c>/.well-known/*</c> endpoints, sign-in pages) runs the standard middleware unchanged.
/// </summary>
public sealed class ApiAuthenticationMiddleware(RequestDelegate next, IAuthenticationSchemeProvider schemes)
{
    private readonly AuthenticationMiddleware _standard = new(next, schemes);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            await _standard.Invoke(context);
            return;
        }

        context.Features.Set<IAuthenticationFeature>(new AuthenticationFeature
        {
            OriginalPath = context.Request.Path,
            OriginalPathBase = context.Request.PathBase,
        });
        if (await schemes.GetDefaultAuthenticateSchemeAsync() is { } scheme)
        {
            var result = await context.AuthenticateAsync(scheme.Name);
            if (result.Principal is { } principal)
            {
                context.User = principal;
            }

            if (result.Succeeded)
            {
                var features = new AuthenticatedFeatures(result);
                context.Features.Set<IHttpAuthenticationFeature>(features);
                context.Features.Set<IAuthenticateResultFeature>(features);
            }
        }

        await next(context);
    }

    private sealed class AuthenticatedFeatures(AuthenticateResult result) : IHttpAuthenticationFeature, IAuthenticateResultFeature
    {
        private AuthenticateResult? _result = result;
        private ClaimsPrincipal? _user = result.Principal;

        public AuthenticateResult? AuthenticateResult
        {
            get => _result;
            set
            {
                _result = value;
                _user = value?.Principal;
            }
        }

        public ClaimsPrincipal? User
        {
            get => _user;
            set
            {
                _user = value;
                _result = null;
            }
        }
    }
}
