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

    /// <summary>Sign-in attempts (token password grant and sign-in page) per account per minute, whatever the client IP.</summary>
    public int SignInAttemptsPerMinutePerAccount { get; set; } = 10;

    /// <summary>Signups (and anonymous invitation acceptances) per client IP per minute.</summary>
    public int SignupsPerMinutePerIp { get; set; } = 10;

    /// <summary>Browser origins allowed to call the API (the SPA); none by default.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

public static class AbuseProtection
{
    public const string CorsPolicy = "spa";

    public static void AddCleanCrmAbuseProtection(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(AbuseProtectionOptions.SectionName).Get<AbuseProtectionOptions>()
            ?? new AbuseProtectionOptions();
        builder.Services.AddRateLimiter(limiter =>
        {
            // Only the anonymous entry points are limited per IP. Everything else skips the partitioned limiter (a lock
            // on its partition table and an IP string per request) through SelectiveRateLimiter.
            limiter.GlobalLimiter = new SelectiveRateLimiter(context => EntryPoint(context) is not null,
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var entryPoint = EntryPoint(context)!;
                var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                var permits = entryPoint is "token" or "login" ? options.TokenRequestsPerMinutePerIp : options.SignupsPerMinutePerIp;
                return Window($"{entryPoint}:{ip}", permits);
            }));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds)
                    .ToString(CultureInfo.InvariantCulture);
                if (rejected.HttpContext.Request.Path.StartsWithSegments("/account", StringComparison.Ordinal))
                {
                    // People on the sign-in pages get a page that says when to try again, not JSON.
                    await Endpoints.Account.AccountHtml.Page("Too many attempts", Endpoints.Account.AccountHtml.Message(
                            $"Too many attempts from your network. Try again in {Math.Ceiling(retryAfter.TotalSeconds)} seconds."),
                        StatusCodes.Status429TooManyRequests).ExecuteAsync(rejected.HttpContext);
                    return;
                }

                var problem = Problems.From(new Error(ErrorType.BadRequest, "rate_limited",
                    $"Too many requests from your address; retry in {Math.Ceiling(retryAfter.TotalSeconds)} s."));
                problem.Status = StatusCodes.Status429TooManyRequests;
                problem.Title = Problems.TitleOf(429);
                rejected.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                await rejected.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>()
                    .WriteAsync(new ProblemDetailsContext { HttpContext = rejected.HttpContext, ProblemDetails = problem });
            };
        });
        builder.Services.AddSingleton(new AccountSignInThrottle(options.SignInAttemptsPerMinutePerAccount));
        builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
            policy.WithOrigins(options.AllowedOrigins)
                .WithHeaders("Authorization", "Content-Type", "If-Match", "X-Org")
                .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")
                .WithExposedHeaders("ETag", "Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")));
    }

    /// <summary>The anonymous entry point a request is aimed at (limited per client IP), or null for everything else.</summary>
    private static string? EntryPoint(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        return path switch
        {
            "/connect/token" => "token",
            "/account/login" or "/account/two-factor" or "/account/recovery-code" or "/account/two-factor/setup"
                or "/account/reset-password" or "/account/verify-email" when HttpMethods.IsPost(context.Request.Method) => "login",
            // Each one may send a mail: the smaller (signup) budget.
            "/account/forgot-password" when HttpMethods.IsPost(context.Request.Method) => "signup",
            "/api/v1/signup" => "signup",
            _ when Endpoints.InvitationsEndpoints.IsAcceptPath(path) => "accept",
            _ => null,
        };
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

/// <summary>
/// Per-account sign-in budget (in this process), on top of the per-IP limit and the lockout after repeated failures:
/// an attacker spreading guesses over many addresses still gets only this many tries per account per minute.
/// </summary>
public sealed class AccountSignInThrottle(int attemptsPerMinute) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(account =>
        RateLimitPartition.GetSlidingWindowLimiter(account, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, attemptsPerMinute),
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        }));

    /// <summary>Takes one attempt for the account (the email, normalized); <c>false</c> with the wait when over budget.</summary>
    public bool TryAcquire(string email, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(Domain.Catalog.UserAccount.Normalize(email));
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(10);
        return lease.IsAcquired;
    }

    /// <summary>The 429 problem the token endpoint answers when the account's budget is spent.</summary>
    public static IResult TooManyAttempts(HttpContext context, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = Problems.From(
            new Error(ErrorType.BadRequest, "rate_limited", $"Too many sign-in attempts for this account; retry in {seconds} s."));
        problem.Status = StatusCodes.Status429TooManyRequests;
        problem.Title = Problems.TitleOf(429);
        return TypedResults.Problem(problem);
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>
/// Applies <paramref name="inner"/> to the requests <paramref name="applies"/> selects and grants the rest without touching it.
/// </summary>
internal sealed class SelectiveRateLimiter(Func<HttpContext, bool> applies,
    PartitionedRateLimiter<HttpContext> inner) : PartitionedRateLimiter<HttpContext>
{
    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => applies(resource) ? inner.GetStatistics(resource) : null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
        applies(resource) ? inner.AttemptAcquire(resource, permitCount) : GrantedLease.Instance;

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount,
        CancellationToken cancellationToken) =>
        applies(resource)
            ? inner.AcquireAsync(resource, permitCount, cancellationToken)
            : ValueTask.FromResult<RateLimitLease>(GrantedLease.Instance);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class GrantedLease : RateLimitLease
    {
        public static readonly GrantedLease Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
