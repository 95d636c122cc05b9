using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Tenancy;
using Microsoft.Extensions.Options;

namespace CleanCrm.Api.Security;

/// <summary>Per-plan API budgets (section <c>CleanCrm:RateLimiting</c>); see docs/adr/0007-per-instance-plan-rate-limits.md.</summary>
public sealed class PlanRateLimitOptions
{
    public const string SectionName = "CleanCrm:RateLimiting";

    public bool Enabled { get; set; } = true;

    /// <summary>API instances behind the load balancer: each enforces its share (budget ÷ instances, rounded up).</summary>
    [Range(1, 1000)]
    public int Instances { get; set; } = 1;
}

/// <summary>
/// The plan's request budget per 10 s, counted per organization, and per client for org-bound API clients, with
/// System.Threading.RateLimiting fixed windows (the limiters behind ASP.NET Core's rate limiting middleware). It runs
/// after org resolution because the partition and the budget depend on the resolved org, which the global limiter of
/// <c>UseRateLimiter</c> (before authentication) cannot know.
/// </summary>
public sealed class PlanRateLimiter : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _clock;

    // A partition's window start lives exactly as long as its limiter: the partitioned limiter disposes limiters that
    // stay idle, and the disposal removes the start, so this map never holds more than the live partitions.
    private readonly ConcurrentDictionary<PartitionKey, long> _windowStarts = new();
    private readonly PartitionedRateLimiter<PartitionKey> _limiter;

    public PlanRateLimiter(TimeProvider clock)
    {
        _clock = clock;
        // The budget is part of the key, so a plan change or override starts a fresh window at the new budget.
        _limiter = PartitionedRateLimiter.Create<PartitionKey, PartitionKey>(key => RateLimitPartition.Get(key, CreateLimiter));
    }

    /// <summary>Partitions whose window start is tracked: the live limiters only.</summary>
    internal int TrackedPartitions => _windowStarts.Count;

    public (RateLimitLease Lease, long Remaining, TimeSpan Reset) Acquire(string partition, int budget)
    {
        var key = new PartitionKey(partition, budget);
        var lease = _limiter.AttemptAcquire(key);
        var remaining = _limiter.GetStatistics(key)?.CurrentAvailablePermits ?? 0;
        var elapsed = _windowStarts.TryGetValue(key, out var start) ? _clock.GetElapsedTime(start) : TimeSpan.Zero;
        var reset = Window - TimeSpan.FromTicks(elapsed.Ticks % Window.Ticks);
        return (lease, remaining, reset);
    }

    public void Dispose() => _limiter.Dispose();

    private WindowTrackingLimiter CreateLimiter(PartitionKey key)
    {
        var start = _clock.GetTimestamp();
        _windowStarts[key] = start;
        var inner = new FixedWindowRateLimiter(
            new FixedWindowRateLimiterOptions { PermitLimit = key.Budget, Window = Window, QueueLimit = 0, AutoReplenishment = true });
        return new WindowTrackingLimiter(inner, () => _windowStarts.TryRemove(KeyValuePair.Create(key, start)));
    }

    public readonly record struct PartitionKey(string Partition, int Budget);

    /// <summary>A fixed-window limiter that forgets its window start when the partitioned limiter disposes it.</summary>
    private sealed class WindowTrackingLimiter(FixedWindowRateLimiter inner, Action forget) : RateLimiter
    {
        public override TimeSpan? IdleDuration => inner.IdleDuration;

        public override RateLimiterStatistics? GetStatistics() => inner.GetStatistics();

        protected override RateLimitLease AttemptAcquireCore(int permitCount) => inner.AttemptAcquire(permitCount);

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            inner.AcquireAsync(permitCount, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                forget();
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        protected override async ValueTask DisposeAsyncCore()
        {
            forget();
            await inner.DisposeAsync();
        }
    }
}

public sealed class PlanRateLimitMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, ITenantContext tenantContext, IBillingProfiles profiles, PlanRateLimiter limiter,
        IOptions<PlanRateLimitOptions> options, HttpCallerContext caller)
    {
        var settings = options.Value;
        if (!settings.Enabled || tenantContext.Current is not { } tenant
            || await profiles.GetAsync(tenant.OrganizationId, context.RequestAborted) is not { } profile)
        {
            await next(context);
            return;
        }

        var budget = (int)Math.Ceiling(profile.Limits.ApiRequestsPer10Seconds / (double)settings.Instances);
        var partition = caller.OrgClaim is not null && ClientId(context) is { } clientId
            ? $"client:{clientId}"
            : $"org:{tenant.OrganizationId}";
        var (lease, remaining, reset) = limiter.Acquire(partition, budget);
        using (lease)
        {
            var resetSeconds = Math.Max(1, (int)Math.Ceiling(reset.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            var headers = context.Response.Headers;
            headers["RateLimit-Limit"] = budget.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Reset"] = resetSeconds;
            if (lease.IsAcquired)
            {
                await next(context);
                return;
            }

            headers.RetryAfter = resetSeconds;
            var problem = Problems.From(new Error(ErrorType.BadRequest, "rate_limited",
                $"The {profile.PlanKey} plan allows {profile.Limits.ApiRequestsPer10Seconds} API requests per 10 seconds; retry in " +
                    $"{resetSeconds} s or upgrade for a larger budget."));
            problem.Status = StatusCodes.Status429TooManyRequests;
            problem.Title = Problems.TitleOf(429);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>()
                .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
        }
    }

    private static string? ClientId(HttpContext context) =>
        context.User.FindFirst("client_id")?.Value ?? context.User.FindFirst("azp")?.Value ?? context.User.FindFirst(CleanCrmClaims.Subject)
            ?.Value;
}

public static class PlanRateLimitingExtensions
{
    public static void AddCleanCrmPlanRateLimiting(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PlanRateLimitOptions>().Bind(builder.Configuration.GetSection(PlanRateLimitOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PlanRateLimiter>();
    }
}
