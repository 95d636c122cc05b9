using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Serilog.Core;
using Serilog.Events;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>A client that goes away is not a server error: 499 at Information, never an Error log or a 500.</summary>
[Collection(PlatformCollection.Name)]
public sealed class ClientAbortTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_client_that_disconnects_while_its_request_waits_for_a_connection_is_logged_as_499_at_information()
    {
        await using var host = await AbortHost.StartAsync(platform);

        // The request waits for the only tenant connection slot, which the test holds; the pool's "waits" counter of
        // this host (its own IMeterFactory) says when it is waiting.
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = WaitsListener(host.Api.Services.GetRequiredService<IMeterFactory>(), waiting);
        var pool = host.Api.Services.GetRequiredService<TenantConnectionPool>();
        var directory = host.Api.Services.GetRequiredService<TenantDirectory>();
        var location = await directory.FindAsync(host.Organization.Id, CancellationToken.None);
        using var lease = await pool.PinAsync(location!, CancellationToken.None);
        var held = await lease.OpenConnectionAsync(CancellationToken.None);
        await host.AbortWhileAsync(waiting.Task);
        await held.DisposeAsync();

        await host.ShouldHaveLoggedTheAbortAsInformationAsync();
    }

    [Fact]
    public async Task A_client_that_disconnects_while_its_query_runs_is_logged_as_499_at_information()
    {
        await using var host = await AbortHost.StartAsync(platform);

        // The query blocks on a table lock the test holds in the tenant database, so the abort lands mid-query.
        await using var locker = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(host.Organization));
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE companies IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        await host.AbortWhileAsync(WaitForLockWaitersAsync(host.Organization, atLeast: 1));

        // The lock is released only once the server has cancelled the query (seen from PostgreSQL), so the query cannot
        // finish first and answer 200 to a client that is gone.
        await WaitForLockWaitersAsync(host.Organization, atLeast: 0, atMost: 0);
        await transaction.RollbackAsync();

        await host.ShouldHaveLoggedTheAbortAsInformationAsync();
    }

    private static async Task WaitForLockWaitersAsync(Organization organization, int atLeast, int atMost = int.MaxValue)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var waiters = await TestDatabaseServers.ScalarAsync<long>(
                TestDatabaseServers.Primary,
                "postgres",
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                organization.DatabaseName);
            if (waiters >= atLeast && waiters <= atMost)
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"the API's queries waiting on the table lock never numbered {atLeast}..{atMost}");
    }

    private static MeterListener WaitsListener(IMeterFactory meters, TaskCompletionSource waiting)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "cleancrm.tenant_connections.waits")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => waiting.TrySetResult());
        listener.Start();
        return listener;
    }

    /// <summary>An API host with one tenant connection slot, an owner's client and a sink that keeps every log event.</summary>
    private sealed class AbortHost : IAsyncDisposable
    {
        private readonly ApiFactory _factory;
        private readonly CollectingSink _sink;
        private readonly AbortSignals _aborts;
        private int _errorsBefore;

        private AbortHost(
            ApiFactory factory,
            WebApplicationFactory<Program> api,
            CollectingSink sink,
            HttpClient client,
            Organization organization,
            AbortSignals aborts)
        {
            _aborts = aborts;
            _factory = factory;
            Api = api;
            _sink = sink;
            Client = client;
            Organization = organization;
        }

        public WebApplicationFactory<Program> Api { get; }

        public HttpClient Client { get; }

        public Organization Organization { get; }

        public static async Task<AbortHost> StartAsync(SharedPlatform platform)
        {
            var owner = await platform.CreateUserAsync();
            var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
            var sink = new CollectingSink();
            var factory = new ApiFactory(platform, new Dictionary<string, string?>
            {
                ["CleanCrm:Tenancy:MaxOpenTenantConnections"] = "1",
                ["CleanCrm:Tenancy:PerTenantMaxPoolSize"] = "1",
                ["CleanCrm:Tenancy:ConnectionAcquireTimeoutMs"] = "60000",
                ["Serilog:MinimumLevel:Default"] = "Information",
            });
            var aborts = new AbortSignals();
            var api = factory.WithWebHostBuilder(b => b.ConfigureServices(s => s
                .AddSingleton<ILogEventSink>(sink)
                .AddSingleton<IStartupFilter>(aborts)));

            // Real Kestrel on a loopback port, so the disconnect is a real TCP close, not an in-memory signal.
            api.UseKestrel(0);
            api.StartServer();
            var client = api.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={owner.Id}");
            client.DefaultRequestHeaders.Add("X-Org", organization.Slug);
            (await client.GetAsync("/api/v1/companies")).EnsureSuccessStatusCode();
            return new AbortHost(factory, api, sink, client, organization, aborts);
        }

        /// <summary>Sends a request, cancels it once <paramref name="inFlight"/> says the server is busy with it.</summary>
        public async Task AbortWhileAsync(Task inFlight)
        {
            _errorsBefore = _sink.Count(e => e.Level >= LogEventLevel.Error);
            using var abort = new CancellationTokenSource();
            var noticed = _aborts.Next();
            var request = Client.GetAsync("/api/v1/companies", abort.Token);
            await inFlight.WaitAsync(TimeSpan.FromSeconds(30));
            await abort.CancelAsync();
            await Should.ThrowAsync<TaskCanceledException>(request);

            // The server must have seen the disconnect before the test frees what the request waits for; otherwise the
            // request could finish first and answer 200 to a client that is gone.
            await noticed.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async Task ShouldHaveLoggedTheAbortAsInformationAsync()
        {
            // The request log has one event per request, with its status: the warm-up, then the aborted one.
            var requests = await _sink.WaitForAsync(
                e => e.Properties.ContainsKey("StatusCode") && e.Properties.ContainsKey("Elapsed"), count: 2, TimeSpan.FromSeconds(30));
            requests[1].Properties["StatusCode"].ToString().ShouldBe("499");
            requests[1].Level.ShouldBe(LogEventLevel.Information);
            _sink.Where(e => e.Level >= LogEventLevel.Error).Skip(_errorsBefore)
                .Select(e => $"{e.RenderMessage(null)} {e.Exception?.GetType().Name}").ShouldBeEmpty();
            (await Client.GetAsync("/api/v1/companies")).EnsureSuccessStatusCode();
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Api.DisposeAsync();
            await _factory.DisposeAsync();
        }
    }

    /// <summary>Signals when the server sees a request's client disconnect (its <c>RequestAborted</c> fires).</summary>
    private sealed class AbortSignals : IStartupFilter
    {
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Next()
        {
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _next.Task;
        }

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                var signal = _next;
                context.RequestAborted.Register(() => signal.TrySetResult());
                return following(context);
            });
            next(app);
        };
    }

    private sealed class CollectingSink : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        public int Count(Func<LogEvent, bool> predicate) => _events.Count(predicate);

        public IEnumerable<LogEvent> Where(Func<LogEvent, bool> predicate) => _events.Where(predicate);

        public async Task<List<LogEvent>> WaitForAsync(Func<LogEvent, bool> predicate, int count, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                var found = _events.Where(predicate).ToList();
                if (found.Count >= count)
                {
                    return found;
                }

                await Task.Delay(50);
            }

            var seen = string.Join(Environment.NewLine, _events.TakeLast(20).Select(e => $"{e.Level} {e.RenderMessage(null)}"));
            throw new TimeoutException($"fewer than {count} matching log events within {timeout.TotalSeconds:0} s; last seen:\n{seen}");
        }
    }
}
