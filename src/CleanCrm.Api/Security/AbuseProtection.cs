using System.Globalization;
using System.Threading.RateLimiting;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Common.Results;
using Microsoft.AspNetCore.RateLimiting;

namespace CleanCrm.Api.Security;

/// <summary>Abuse limits (section <c>CleanCrm:AbuseProtection</c>).</summary>
public sealed class AbuseProtectionOptions
{
    public const string SectionName = "CleanCrm:AbuseProtection";

    /// <summary>Token requests per client IP per minute (password guessing is also stopped per account by lockout).</summary>
    public int TokenRequestsPerMinutePerIp { get; set; } = 30;

    /// <summary>Signups per client IP per minute.</summary>
    public int SignupsPerMinutePerIp { get; set; } = 10;

    /// <summary>Browser origins allowed to call the API (the SPA); none by default.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

public static class AbuseProtection
{
    public const string CorsPolicy = "spa";

    public static void AddCleanCrmAbuseProtection(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(AbuseProtectionOptions.SectionName).Get<AbuseProtectionOptions>() ?? new AbuseProtectionOptions();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                return context.Request.Path.Value switch
                {
                    "/connect/token" => Window($"token:{ip}", options.TokenRequestsPerMinutePerIp),
                    "/api/v1/signup" => Window($"signup:{ip}", options.SignupsPerMinutePerIp),
                    _ => RateLimitPartition.GetNoLimiter("unlimited"),
                };
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                var problem = Problems.From(new Error(ErrorType.BadRequest, "rate_limited", $"Too many requests from your address; retry in {Math.Ceiling(retryAfter.TotalSeconds)} s."));
                problem.Status = StatusCodes.Status429TooManyRequests;
                problem.Title = Problems.TitleOf(429);
                rejected.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                await rejected.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>()
                    .WriteAsync(new ProblemDetailsContext { HttpContext = rejected.HttpContext, ProblemDetails = problem });
            };
        });
        builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
            policy.WithOrigins(options.AllowedOrigins)
                .WithHeaders("Authorization", "Content-Type", "If-Match", "X-Org")
                .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")
                .WithExposedHeaders("ETag", "Location", "Retry-After")));
    }

    /// <summary>Security headers on every response; HTML pages (Swagger UI, dashboards) also get a frame ban.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            if (context.Response.ContentType?.StartsWith("text/html", StringComparison.Ordinal) == true)
            {
                headers.XFrameOptions = "DENY";
                headers["Content-Security-Policy"] = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'";
            }

            return Task.CompletedTask;
        });
        await next(context);
    });

    private static RateLimitPartition<string> Window(string key, int permits) =>
        RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, permits),
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        });
}
