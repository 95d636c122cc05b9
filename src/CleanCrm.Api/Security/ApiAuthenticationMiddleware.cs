using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;
using OpenIddict.Server.AspNetCore;

namespace CleanCrm.Api.Security;

/// <summary>
/// <c>UseAuthentication</c>, minus the OpenID Connect server's request processing on <c>/api/</c> paths. The standard
/// middleware offers every request to each request-handling scheme first (OpenIddict's server inspects it to see whether
/// it is one of its endpoints, building URIs and resolving a dozen handlers from DI per request); no OpenID Connect
/// endpoint lives under <c>/api/</c>, so API requests skip the server's scheme (validation's still runs). Every other path (the
/// <c>/connect/*</c> and <c>/.well-known/*</c> endpoints, sign-in pages) runs the standard middleware unchanged.
/// </summary>
public sealed class ApiAuthenticationMiddleware(RequestDelegate next, IAuthenticationSchemeProvider schemes, ValidatedTokenCache tokens, TimeProvider clock)
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

        // A bearer token validated before (the usual case: a client sends the same token until it expires) is answered
        // from the cache without building the authentication handlers or running OpenIddict's request processing; the
        // result is the one CachedBearerHandler would give. Anything else takes the full path below.
        if (CachedBearerHandler.BearerKey(context.Request) is { } token && tokens.TryGet(token, clock.GetUtcNow(), out var cached))
        {
            context.User = cached;
            var authenticated = new AuthenticatedFeatures(CachedBearerHandler.Success(cached));
            context.Features.Set<IHttpAuthenticationFeature>(authenticated);
            context.Features.Set<IAuthenticateResultFeature>(authenticated);
            await next(context);
            return;
        }

        var handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        foreach (var requestScheme in await schemes.GetRequestHandlerSchemesAsync())
        {
            // OpenIddict validation prepares its per-request state here (its authenticate and challenge need it).
            if (requestScheme.Name != OpenIddictServerAspNetCoreDefaults.AuthenticationScheme
                && await handlers.GetHandlerAsync(context, requestScheme.Name) is IAuthenticationRequestHandler handler
                && await handler.HandleRequestAsync())
            {
                return;
            }
        }

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

public static class ApiAuthenticationExtensions
{
    // The key UseAuthentication sets; WebApplication adds its own authentication middleware at the start of the pipeline
    // when it is missing, which would authenticate every request twice.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    /// <summary>Use instead of <c>UseAuthentication</c> (see <see cref="ApiAuthenticationMiddleware"/>).</summary>
    public static IApplicationBuilder UseApiAuthentication(this IApplicationBuilder app)
    {
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        return app.UseMiddleware<ApiAuthenticationMiddleware>();
    }
}
