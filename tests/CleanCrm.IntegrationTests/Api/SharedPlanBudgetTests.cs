using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using CleanCrm.Api.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>
/// Plan budgets across API instances (docs/adr/0017-redis-plan-budgets.md): two API hosts (two WebApplicationFactory
/// hosts in this process, each with its own services, limiter and Redis connection, sharing the catalog and Redis)
/// admit the plan's budget once per window together when Redis is configured, split it without Redis, and fall back to
/// the split, never failing a request, while Redis is hung or gone.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SharedPlanBudgetTests(SharedPlatform platform)
{
    private const int Budget = 10;

    private static string TestRedis => Environment.GetEnvironmentVariable("CLEANCRM_TEST_REDIS") is { Length: > 0 } redis
        ? redis
        : throw new InvalidOperationException("CLEANCRM_TEST_REDIS is not set: run the tests through scripts/test.sh, which starts Redis");

    [Fact]
    public async Task Two_instances_sharing_redis_admit_the_budget_exactly_once_per_window()
    {
        var (owner, organization) = await OrganizationWithBudgetAsync(Budget);

        // A generous timeout: this test is about the count while Redis answers; on a loaded machine a request can wait
        // longer than the default 250 ms for a thread, and a timed-out call is decided locally (the next test).
        var settings = Settings(TestRedis, instances: 2);
        settings["CleanCrm:RateLimiting:RedisTimeoutMilliseconds"] = "10000";
        await using var first = new ApiFactory(platform, settings);
        await using var second = new ApiFactory(platform, settings);
        var clients = new[] { first.ClientFor(owner.Id, organization.Slug), second.ClientFor(owner.Id, organization.Slug) };
        await WarmUpAsync(first, second);

        var (statuses, limits, elapsed) = await HammerAsync(clients, requestsPerInstance: 3 * Budget);

        elapsed.ShouldBeLessThan(PlanRateLimiter.Window, "every request must fall in one window for the count to mean anything");
        statuses.SelectMany(s => s).ShouldAllBe(status => status == HttpStatusCode.OK || status == HttpStatusCode.TooManyRequests);
        var admitted = statuses.Sum(s => s.Count(status => status == HttpStatusCode.OK));

        // The target allows budget + instances − 1; one atomic counter in Redis makes it exact.
        var perInstance = string.Join(", ", statuses.Select(s => s.Count(x => x == HttpStatusCode.OK)));
        admitted.ShouldBe(Budget, $"admitted per instance: {perInstance}");
        statuses.ShouldAllBe(s => s.Contains(HttpStatusCode.TooManyRequests), "both instances refuse once the shared budget is spent");
        limits.ShouldAllBe(limit => limit == Budget, "the whole budget is announced, not an instance's share");
    }

    [Fact]
    public async Task Without_redis_each_instance_enforces_its_share_of_the_budget()
    {
        var (owner, organization) = await OrganizationWithBudgetAsync(Budget);
        await using var first = new ApiFactory(platform, Settings(redis: null, instances: 2));
        await using var second = new ApiFactory(platform, Settings(redis: null, instances: 2));
        first.Services.GetService<RedisPlanBudgets>().ShouldBeNull();
        await WarmUpAsync(first, second);

        var (statuses, limits, elapsed) = await HammerAsync(
            [first.ClientFor(owner.Id, organization.Slug), second.ClientFor(owner.Id, organization.Slug)], requestsPerInstance: Budget);

        elapsed.ShouldBeLessThan(PlanRateLimiter.Window);
        statuses.ShouldAllBe(s => s.Count(status => status == HttpStatusCode.OK) == Budget / 2);
        limits.ShouldAllBe(limit => limit == Budget / 2);
    }

    [Fact]
    public async Task While_redis_is_hung_or_gone_requests_are_decided_with_the_local_share_and_never_fail()
    {
        // Room for the polling below: only the announced limit tells where a request was decided.
        const int budget = 10_000;
        var (owner, organization) = await OrganizationWithBudgetAsync(budget);
        var port = FreePort();
        using var redis = PrivateRedis.Start(port);
        var settings = Settings($"127.0.0.1:{port}", instances: 2);
        settings["CleanCrm:RateLimiting:RedisTimeoutMilliseconds"] = "200";
        settings["CleanCrm:RateLimiting:RedisRetrySeconds"] = "1";
        await using var api = new ApiFactory(platform, settings);
        var client = api.ClientFor(owner.Id, organization.Slug);
        using var fallbacks = new FallbackCounter();

        await EventuallyAsync(async () => await LimitAsync(client) == budget, "decided in Redis: the whole budget");

        // Hung: the server accepts nothing (SIGSTOP); the request waits at most the timeout, then counts locally.
        redis.Signal("STOP");
        var watch = Stopwatch.StartNew();
        (await LimitAsync(client)).ShouldBe(budget / 2, "decided locally: this instance's share");
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5), "a hung Redis costs about one timeout, not a failure");
        (await LimitAsync(client)).ShouldBe(budget / 2, "still local while Redis is hung");
        redis.Signal("CONT");
        await EventuallyAsync(async () => await LimitAsync(client) == budget, "shared again once Redis answers");

        // Gone: the connection drops; requests are decided locally at once, then in Redis again once it is back.
        redis.Kill();
        await EventuallyAsync(async () => await LimitAsync(client) == budget / 2, "local share once the connection is lost");
        api.Services.GetRequiredService<RedisPlanBudgets>().IsAvailable.ShouldBeFalse();
        fallbacks.Count.ShouldBeGreaterThanOrEqualTo(3, "each locally decided request is counted (cleancrm.rate_limit.redis_fallbacks)");
        using var restarted = PrivateRedis.Start(port);
        await EventuallyAsync(async () => await LimitAsync(client) == budget, "shared again after Redis restarted", seconds: 30);
        api.Services.GetRequiredService<RedisPlanBudgets>().IsAvailable.ShouldBeTrue();
    }

    [Fact]
    public async Task An_invalid_redis_connection_string_stops_the_start()
    {
        await using var api = new ApiFactory(platform, Settings("127.0.0.1:6379,notanoption=1", instances: 1));
        var failure = Should.Throw<Exception>(() => api.CreateClient());
        failure.ToString().ShouldContain("ConnectionStrings:Redis");
    }

    private async Task<(UserAccount Owner, Organization Organization)> OrganizationWithBudgetAsync(int budget)
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            "INSERT INTO limit_overrides (organization_id, api_requests_per10seconds, updated_at) "
                + $"VALUES ('{organization.Id}', {budget}, now())",
            platform.CatalogDatabase);
        return (owner, organization);
    }

    private static Dictionary<string, string?> Settings(string? redis, int instances) => new()
    {
        ["CleanCrm:RateLimiting:Enabled"] = "true",
        ["CleanCrm:RateLimiting:Instances"] = instances.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ConnectionStrings:Redis"] = redis ?? string.Empty,
    };

    // Starts both hosts (and their first-request work) outside the measured window, on no org's budget.
    private static async Task WarmUpAsync(params ApiFactory[] hosts)
    {
        foreach (var host in hosts)
        {
            (await host.CreateClient().GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
    }

    private static async Task<(List<HttpStatusCode>[] Statuses, List<int> Limits, TimeSpan Elapsed)> HammerAsync(
        HttpClient[] clients, int requestsPerInstance)
    {
        var limits = new List<int>();
        var watch = Stopwatch.StartNew();
        var statuses = await Task.WhenAll(clients.Select(async client =>
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, requestsPerInstance).Select(_ => client.GetAsync("/api/v1/features")));
            lock (limits)
            {
                limits.AddRange(answers.Select(a => int.Parse(a.Headers.GetValues("RateLimit-Limit").Single(),
                    System.Globalization.CultureInfo.InvariantCulture)));
            }

            return answers.Select(a => a.StatusCode).ToList();
        }));
        return (statuses, limits, watch.Elapsed);
    }

    private static async Task<int> LimitAsync(HttpClient client)
    {
        var answer = await client.GetAsync("/api/v1/features");
        answer.StatusCode.ShouldBe(HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        return int.Parse(answer.Headers.GetValues("RateLimit-Limit").Single(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(seconds), $"not within {seconds} s: {what}");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A Redis server of this test alone (Debian's redis-server, which scripts/test.sh installs), to hang and kill.</summary>
    private sealed class PrivateRedis : IDisposable
    {
        private readonly Process _process;

        private PrivateRedis(Process process) => _process = process;

        public static PrivateRedis Start(int port)
        {
            var process = Process.Start(new ProcessStartInfo("redis-server",
                ["--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "",
                    "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            }) ?? throw new InvalidOperationException("redis-server did not start");
            var started = new PrivateRedis(process);
            var watch = Stopwatch.StartNew();
            while (!Answers(port))
            {
                process.HasExited.ShouldBeFalse("redis-server exited at start");
                watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "redis-server did not accept connections");
                Thread.Sleep(50);
            }

            return started;
        }

        public void Signal(string signal) =>
            Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                Signal("CONT");
                Kill();
            }

            _process.Dispose();
        }

        private static bool Answers(int port)
        {
            try
            {
                using var socket = new TcpClient();
                socket.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }

    /// <summary>Counts <c>cleancrm.rate_limit.redis_fallbacks</c> from the moment it is created.</summary>
    private sealed class FallbackCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public FallbackCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PlanBudgetMetrics.MeterName && instrument.Name == "cleancrm.rate_limit.redis_fallbacks")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
