using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CleanCrm.Api.Security;

/// <summary>Meter <c>CleanCrm.RateLimiting</c>: where plan budgets were decided, refusals, and whether Redis is in use.</summary>
public sealed class PlanBudgetMetrics : IDisposable
{
    public const string MeterName = CleanCrm.Infrastructure.Observability.Telemetry.RateLimitingMeterName;

    private readonly Meter _meter;

    public PlanBudgetMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        Fallbacks = _meter.CreateCounter<long>("cleancrm.rate_limit.redis_fallbacks",
            description: "Plan budget decisions taken with this instance's share because Redis was unavailable");
        Rejections = _meter.CreateCounter<long>("cleancrm.rate_limit.rejections",
            description: "Requests answered 429 because the plan's budget was spent (tag store: redis or local)");
    }

    public Counter<long> Fallbacks { get; }

    public Counter<long> Rejections { get; }

    public void ObserveRedis(Func<int> available) =>
        _meter.CreateObservableGauge("cleancrm.rate_limit.redis_available", available,
            description: "1 while plan budgets are counted in Redis, 0 while this instance falls back to its local share");

    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// The plan budgets shared by every API instance: one counter per partition and budget in Redis, incremented and given
/// its window by one Lua script (atomic on the server), so all instances together admit exactly the budget per window
/// (docs/adr/0017-redis-plan-budgets.md). Never throws: while Redis cannot answer, <see cref="TryAcquireAsync"/> returns
/// null and the caller uses this instance's local share.
/// </summary>
public sealed partial class RedisPlanBudgets : IHostedService, IAsyncDisposable
{
    // A fixed window that starts with the partition's first request, like System.Threading.RateLimiting's: INCR, and give
    // the key its lifetime when it has none (the first request, or a key left without one). Returns count and ms left.
    private const string Script = """
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          ttl = tonumber(ARGV[1])
        end
        return {count, ttl}
        """;

    private readonly ConfigurationOptions _configuration;
    private readonly PlanRateLimitOptions _options;
    private readonly TimeProvider _clock;
    private readonly PlanBudgetMetrics _metrics;
    private readonly ILogger<RedisPlanBudgets> _logger;
    private readonly RedisValue _windowMilliseconds = (long)PlanRateLimiter.Window.TotalMilliseconds;
    private Task<ConnectionMultiplexer>? _connecting;
    private long _pausedUntil;
    private int _failing;

    public RedisPlanBudgets(string connectionString, IOptions<PlanRateLimitOptions> options, TimeProvider clock, PlanBudgetMetrics metrics,
        ILogger<RedisPlanBudgets> logger)
    {
        _options = options.Value;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        _configuration = ConfigurationOptions.Parse(connectionString);

        // Never block start-up or a request on Redis: connect in the background, fail commands at once while
        // disconnected (no backlog), and give each command a short timeout; the caller then counts locally.
        _configuration.AbortOnConnectFail = false;
        _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _configuration.AsyncTimeout = _options.RedisTimeoutMilliseconds;
        _configuration.SyncTimeout = _options.RedisTimeoutMilliseconds;
        _configuration.ClientName ??= "cleancrm-api";
        _configuration.ConnectTimeout = Math.Min(_configuration.ConnectTimeout, 2000);
        metrics.ObserveRedis(() => IsAvailable ? 1 : 0);
    }

    /// <summary>Whether the last decision was taken in Redis (and Redis is connected).</summary>
    public bool IsAvailable => Volatile.Read(ref _failing) == 0 && _connecting is { IsCompletedSuccessfully: true } task
        && task.Result.IsConnected;

    /// <summary>Connects (at most the connect timeout); an unreachable server is retried in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connecting = ConnectionMultiplexer.ConnectAsync(_configuration);
        await _connecting.WaitAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Counts one request of the partition in Redis; null when Redis could not decide (use the local share).</summary>
    public async ValueTask<PlanBudgetDecision?> TryAcquireAsync(string partition, int budget)
    {
        if (_connecting is not { IsCompletedSuccessfully: true } connecting || !connecting.Result.IsConnected
            || _clock.GetTimestamp() < Volatile.Read(ref _pausedUntil))
        {
            Failed(null);
            return null;
        }

        try
        {
            // The budget is part of the key: a plan change or an override starts a fresh window at the new budget.
            var result = await connecting.Result.GetDatabase().ScriptEvaluateAsync(Script,
                [(RedisKey)$"cleancrm:plan-budget:{partition}:{budget}"], [_windowMilliseconds]);
            var values = (RedisResult[])result!;
            var count = (long)values[0];
            var reset = TimeSpan.FromMilliseconds(Math.Max(0, (long)values[1]));
            Recovered();
            return new PlanBudgetDecision(count <= budget, budget, Math.Max(0, budget - count), reset, Lease: null, Shared: true);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException or ObjectDisposedException)
        {
            // A slow or hung server would cost every request the whole timeout: count locally for a while instead.
            if (exception is TimeoutException)
            {
                var pause = (long)(_options.RedisRetrySeconds * (double)_clock.TimestampFrequency);
                Volatile.Write(ref _pausedUntil, _clock.GetTimestamp() + pause);
            }

            Failed(exception);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connecting is { IsCompletedSuccessfully: true } connecting)
        {
            await connecting.Result.DisposeAsync();
        }
    }

    private void Failed(Exception? exception)
    {
        _metrics.Fallbacks.Add(1);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            LogUnavailable(_logger, exception, _options.Instances);
        }
    }

    private void Recovered()
    {
        if (Interlocked.Exchange(ref _failing, 0) == 1)
        {
            LogAvailable(_logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Redis is unavailable: plan budgets are enforced per instance (budget ÷ {Instances}) until it answers again")]
    private static partial void LogUnavailable(ILogger logger, Exception? exception, int instances);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis answers again: plan budgets are shared by every instance")]
    private static partial void LogAvailable(ILogger logger);
}
