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

/// <summary>
/// Per-plan API budgets (section <c>CleanCrm:RateLimiting</c>): shared by every instance through Redis when
/// <c>ConnectionStrings:Redis</c> is set, else (and while Redis is unavailable) split per instance; see
/// docs/adr/0017-redis-plan-budgets.md.
/// </summary>
public sealed class PlanRateLimitOptions
{
    public const string SectionName = "CleanCrm:RateLimiting";

    public bool Enabled { get; set; } = true;

    /// <summary>
    /// API instances behind the load balancer: without Redis (or while it is unavailable) each enforces its share
    /// (budget ÷ instances, rounded up).
    /// </summary>
    [Range(1, 1000)]
    public int Instances { get; set; } = 1;

    /// <summary>How long a request waits for Redis before this instance decides with its local share.</summary>
    [Range(10, 10_000)]
    public int RedisTimeoutMilliseconds { get; set; } = 250;

    /// <summary>After a Redis timeout, how long budgets stay local before Redis is asked again (a hung server would
    /// otherwise cost every request the whole timeout).</summary>
    [Range(1, 300)]
    public int RedisRetrySeconds { get; set; } = 5;

    /// <summary><c>ConnectionStrings:Redis</c> (StackExchange.Redis syntax); empty = no Redis.</summary>
    public string? RedisConnectionString { get; set; }
}

/// <summary>One request's answer from the plan budget: admitted or not, and the headers' numbers.</summary>
/// <param name="Shared">Decided in Redis for every instance (false: this instance's local share).</param>
public readonly record struct PlanBudgetDecision(bool Acquired, int Limit, long Remaining, TimeSpan Reset, RateLimitLease? Lease,
    bool Shared) : IDisposable
{
    public void Dispose() => Lease?.Dispose();
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

/// <summary>
/// Where a request's plan budget is decided: in Redis (one budget for every instance) when configured and answering,
/// else in this instance's <see cref="PlanRateLimiter"/> with its share of the budget (budget ÷ <c>Instances</c>).
/// </summary>
public sealed class PlanBudgets(PlanRateLimiter local, IOptions<PlanRateLimitOptions> options, PlanBudgetMetrics metrics,
    RedisPlanBudgets? redis = null)
{
    public async ValueTask<PlanBudgetDecision> AcquireAsync(string partition, int planBudget)
    {
        var decision = redis is not null && await redis.TryAcquireAsync(partition, planBudget) is { } shared
            ? shared
            : Local(partition, (int)Math.Ceiling(planBudget / (double)options.Value.Instances));
        if (!decision.Acquired)
        {
            metrics.Rejections.Add(1, new KeyValuePair<string, object?>("store", decision.Shared ? "redis" : "local"));
        }

        return decision;
    }

    private PlanBudgetDecision Local(string partition, int budget)
    {
        var (lease, remaining, reset) = local.Acquire(partition, budget);
        return new PlanBudgetDecision(lease.IsAcquired, budget, remaining, reset, lease, Shared: false);
    }
}

public sealed class PlanRateLimitMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, ITenantContext tenantContext, IBillingProfiles profiles, PlanBudgets budgets,
        IOptions<PlanRateLimitOptions> options, HttpCallerContext caller)
    {
        var settings = options.Value;
        if (!settings.Enabled || tenantContext.Current is not { } tenant
            || await profiles.GetAsync(tenant.OrganizationId, context.RequestAborted) is not { } profile)
        {
            await next(context);
            return;
        }

        var partition = caller.OrgClaim is not null && ClientId(context) is { } clientId
            ? $"client:{clientId}"
            : $"org:{tenant.OrganizationId}";
        using (var decision = await budgets.AcquireAsync(partition, profile.Limits.ApiRequestsPer10Seconds))
        {
            var resetSeconds = Math.Max(1, (int)Math.Ceiling(decision.Reset.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            var headers = context.Response.Headers;
            headers["RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Reset"] = resetSeconds;
            if (decision.Acquired)
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
        var redis = builder.Configuration.GetConnectionString("Redis");
        builder.Services.AddOptions<PlanRateLimitOptions>().Bind(builder.Configuration.GetSection(PlanRateLimitOptions.SectionName))
            .Configure(options => options.RedisConnectionString = redis)
            .ValidateDataAnnotations()
            .Validate(options => IsValidRedisConfiguration(options.RedisConnectionString),
                "ConnectionStrings:Redis is not a valid StackExchange.Redis configuration string (e.g. \"redis:6379,password=…\")")
            .ValidateOnStart();
        builder.Services.AddSingleton<PlanRateLimiter>();
        builder.Services.AddSingleton<PlanBudgetMetrics>();
        builder.Services.AddSingleton<PlanBudgets>();
        if (!string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton(services => new RedisPlanBudgets(redis,
                services.GetRequiredService<IOptions<PlanRateLimitOptions>>(), services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<PlanBudgetMetrics>(), services.GetRequiredService<ILogger<RedisPlanBudgets>>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<RedisPlanBudgets>());
        }
    }

    private static bool IsValidRedisConfiguration(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        try
        {
            return StackExchange.Redis.ConfigurationOptions.Parse(value).EndPoints.Count > 0;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
