namespace CleanCrm.Console.Security;

/// <summary>Security headers of every console response; pages run no inline script (docs/SECURITY.md).</summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self' {issuer}; frame-ancestors 'none'; object-src 'none'; base-uri 'self'";

    // The Hangfire dashboard ships inline scripts and styles; it gets its own, looser policy (still same-origin only).
    public const string JobsContentSecurityPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'";

    public static IApplicationBuilder UseConsoleSecurityHeaders(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<ConsoleOptions>>().Value;
        var issuer = options.ApiBaseUrl is { } api ? api.GetLeftPart(UriPartial.Authority) : string.Empty;
        var policy = ContentSecurityPolicy.Replace("{issuer}", issuer, StringComparison.Ordinal)
            .Replace("  ", " ", StringComparison.Ordinal);
        return app.Use(async (context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.XFrameOptions = "DENY";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
                if (context.Response.ContentType?.StartsWith("text/html", StringComparison.Ordinal) == true)
                {
                    // The dashboard runs in a branch: its requests have PathBase /jobs and Path relative to it.
                    var full = context.Request.PathBase.Add(context.Request.Path);
                    var jobs = full.StartsWithSegments(ConsoleProgram.JobsPath, StringComparison.OrdinalIgnoreCase);
                    headers.ContentSecurityPolicy = jobs ? JobsContentSecurityPolicy : policy;
                    headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            });
            await next(context);
        });
    }
}
