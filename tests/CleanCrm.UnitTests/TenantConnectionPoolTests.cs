using System.Diagnostics.Metrics;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CleanCrm.UnitTests;

/// <summary>
/// The connection budget of <see cref="TenantConnectionPool"/> (docs/MULTI_TENANCY.md, "Connections"; ADR 0004) on a
/// fake clock. Slots are taken and given back as the EF Core interceptor does, without opening a connection, so no
/// server is needed: only the accounting and the queue are exercised.
/// </summary>
public sealed class TenantConnectionPoolTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_tenant_uses_at_most_its_per_tenant_maximum_and_its_next_request_waits_for_one_of_its_own()
    {
        await using var budget = new Budget(cap: 10, perTenant: 2);
        var tenant = await budget.PinAsync();

        var first = await budget.OpenAsync(tenant);
        await budget.OpenAsync(tenant);
        var third = budget.Open(tenant);

        third.IsWaiting.ShouldBeTrue("the tenant already has its maximum in use");
        budget.Pool.InUse.ShouldBe(2);
        first.Release();
        await third.GrantedAsync();
        budget.Pool.InUse.ShouldBe(2);
        budget.Pool.Reserved.ShouldBe(2, "the third request reused the released connection");
    }

    [Fact]
    public async Task Waiters_of_a_tenant_are_served_in_arrival_order()
    {
        await using var budget = new Budget(cap: 1, perTenant: 1);
        var tenant = await budget.PinAsync();
        var holder = await budget.OpenAsync(tenant);
        var second = budget.Open(tenant);
        var third = budget.Open(tenant);

        holder.Release();
        await second.GrantedAsync();
        third.IsWaiting.ShouldBeTrue();
        budget.Pool.InUse.ShouldBe(1);

        second.Release();
        await third.GrantedAsync();
        budget.Pool.InUse.ShouldBe(1);
    }

    [Fact]
    public async Task At_the_cap_a_new_tenant_waits_until_another_tenant_has_no_request_in_flight_then_takes_over_its_reservation()
    {
        await using var budget = new Budget(cap: 2, perTenant: 2);
        var a = await budget.PinAsync();
        var b = await budget.PinAsync();
        await budget.OpenAsync(a);
        var fromB = await budget.OpenAsync(b);
        var c = await budget.PinAsync();

        var fromC = budget.Open(c);
        fromC.IsWaiting.ShouldBeTrue("both units are reserved and in use");

        fromB.Release();
        fromC.IsWaiting.ShouldBeTrue("B's request is still in flight (its scope pins the pool), so B keeps its reservation");
        budget.Pool.InUse.ShouldBe(1);

        b.Dispose();
        await fromC.GrantedAsync();
        budget.Pool.InUse.ShouldBe(2);
        budget.Pool.Reserved.ShouldBe(2, "C took over B's reservation: the cap holds");
    }

    [Fact]
    public async Task Beyond_its_fair_share_a_tenant_waits_even_with_units_free_until_the_share_grows()
    {
        await using var budget = new Budget(cap: 4, perTenant: 4);
        var a = await budget.PinAsync();
        var b = await budget.PinAsync();
        await budget.OpenAsync(a);
        await budget.OpenAsync(a);

        var third = budget.Open(a);
        third.IsWaiting.ShouldBeTrue("two tenants with requests in flight share a cap of 4: two each");
        budget.Pool.Reserved.ShouldBe(2);
        await budget.OpenAsync(b);
        budget.Pool.Reserved.ShouldBe(3, "B, below its share, is served at once from a free unit");

        var c = await budget.PinAsync();
        c.Dispose();
        third.IsWaiting.ShouldBeTrue("with A and B in flight the share is back at two");
        budget.Pool.InUse.ShouldBe(3);
    }

    [Fact]
    public async Task When_the_only_other_tenant_leaves_the_waiting_tenants_share_grows_to_the_whole_cap()
    {
        await using var budget = new Budget(cap: 4, perTenant: 4);
        var a = await budget.PinAsync();
        var b = await budget.PinAsync();
        await budget.OpenAsync(a);
        await budget.OpenAsync(a);
        var third = budget.Open(a);
        third.IsWaiting.ShouldBeTrue();

        b.Dispose();
        await third.GrantedAsync();
        budget.Pool.Reserved.ShouldBe(3);
        await budget.OpenAsync(a);
        budget.Pool.InUse.ShouldBe(4);
    }

    [Fact]
    public async Task A_tenant_at_its_share_does_not_hold_up_a_tenant_queued_behind_it()
    {
        await using var budget = new Budget(cap: 2, perTenant: 2);
        var a = await budget.PinAsync();
        var b = await budget.PinAsync();
        var firstOfA = await budget.OpenAsync(a);
        var firstOfB = await budget.OpenAsync(b);
        var secondOfA = budget.Open(a);
        var secondOfB = budget.Open(b);

        firstOfB.Release();
        await secondOfB.GrantedAsync();
        secondOfA.IsWaiting.ShouldBeTrue("A is at its share (one of two units) and waits for its own connection");

        firstOfA.Release();
        await secondOfA.GrantedAsync();
        budget.Pool.InUse.ShouldBe(2);
        budget.Pool.Reserved.ShouldBe(2);
    }

    [Fact]
    public async Task An_idle_pool_above_its_share_is_taken_back_at_once_for_a_tenant_below_it()
    {
        await using var budget = new Budget(cap: 2, perTenant: 2);
        var a = await budget.PinAsync();
        var first = await budget.OpenAsync(a);
        var second = await budget.OpenAsync(a);
        first.Release();
        second.Release();
        budget.Pool.Reserved.ShouldBe(2, "alone, A's share is the whole cap");

        var b = await budget.PinAsync();
        await budget.OpenAsync(b);
        budget.Pool.Reserved.ShouldBe(1, "A's idle pool, above its new share of one, was cleared; B took one unit");
        budget.Pool.InUse.ShouldBe(1);
    }

    [Fact]
    public async Task A_tenant_holding_a_connection_takes_an_unused_tenants_pool_only_once_it_was_unused_for_a_second()
    {
        await using var budget = new Budget(cap: 2, perTenant: 2, acquireTimeoutMs: 500);
        var b = await budget.PinAsync();
        (await budget.OpenAsync(b)).Release();
        b.Dispose();
        var a = await budget.PinAsync();
        await budget.OpenAsync(a);

        var early = budget.Open(a);
        early.IsWaiting.ShouldBeTrue("B's pool was used just now");
        budget.Clock.Advance(TimeSpan.FromMilliseconds(500));
        await Should.ThrowAsync<TenantConnectionLimitException>(early.GrantedAsync);

        budget.Clock.Advance(TimeSpan.FromMilliseconds(500));
        await budget.OpenAsync(a);
        budget.Pool.Reserved.ShouldBe(2, "B's reservation went to A");
        budget.Pool.InUse.ShouldBe(2);
    }

    [Fact]
    public async Task A_waiter_is_refused_after_the_acquire_timeout_on_the_pools_clock_with_the_error_the_api_answers_with_503()
    {
        await using var budget = new Budget(cap: 1, perTenant: 1, acquireTimeoutMs: 5_000);
        var tenant = await budget.PinAsync();
        var holder = await budget.OpenAsync(tenant);
        var waiter = budget.Open(tenant);

        budget.Clock.Advance(TimeSpan.FromMilliseconds(4_999));
        waiter.IsWaiting.ShouldBeTrue();
        budget.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var refused = await Should.ThrowAsync<TenantConnectionLimitException>(waiter.GrantedAsync);
        refused.Message.ShouldBe("All 1 tenant connection slots of this process stayed busy for 5000 ms.");

        budget.Pool.InUse.ShouldBe(1, "the refused waiter took nothing");
        holder.Release();
        budget.Pool.InUse.ShouldBe(0, "and nothing was handed to it later");
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_without_taking_or_giving_back_a_slot()
    {
        await using var budget = new Budget(cap: 1, perTenant: 1);
        var tenant = await budget.PinAsync();
        var holder = await budget.OpenAsync(tenant);
        using var abandon = new CancellationTokenSource();
        var cancelled = budget.Open(tenant, abandon.Token);
        var next = budget.Open(tenant);

        await abandon.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(cancelled.GrantedAsync);
        budget.Pool.InUse.ShouldBe(1, "the holder keeps its slot");
        budget.Pool.Reserved.ShouldBe(1);

        holder.Release();
        await next.GrantedAsync();
        budget.Pool.InUse.ShouldBe(1, "the slot went to the next waiter, not to the one that left");
    }

    [Fact]
    public async Task An_unused_pool_is_dropped_after_the_idle_time_and_a_pool_in_use_is_kept()
    {
        await using var budget = new Budget(cap: 4, perTenant: 2, idleSeconds: 10);
        var idle = await budget.PinAsync();
        (await budget.OpenAsync(idle)).Release();
        idle.Dispose();
        var busy = await budget.PinAsync();
        budget.Pool.DataSourceCount.ShouldBe(2);

        budget.Clock.Advance(TimeSpan.FromSeconds(9));
        budget.Pool.DataSourceCount.ShouldBe(2, "unused for 9 s of 10");
        budget.Pool.Reserved.ShouldBe(1);

        budget.Clock.Advance(TimeSpan.FromSeconds(1));
        budget.Pool.DataSourceCount.ShouldBe(1);
        budget.Pool.Reserved.ShouldBe(0, "the dropped pool's reservation went back");

        budget.Clock.Advance(TimeSpan.FromMinutes(10));
        budget.Pool.DataSourceCount.ShouldBe(1, "a pinned pool is never dropped");
        busy.Dispose();
    }

    [Fact]
    public async Task Dropping_an_idle_pool_serves_a_waiter_that_could_not_take_it()
    {
        await using var budget = new Budget(cap: 2, perTenant: 2, idleSeconds: 2, acquireTimeoutMs: 60_000);
        var b = await budget.PinAsync();
        (await budget.OpenAsync(b)).Release();
        b.Dispose();
        var a = await budget.PinAsync();
        await budget.OpenAsync(a);
        var waiter = budget.Open(a);
        waiter.IsWaiting.ShouldBeTrue();

        budget.Clock.Advance(TimeSpan.FromSeconds(2));
        await waiter.GrantedAsync();
        budget.Pool.DataSourceCount.ShouldBe(1);
        budget.Pool.Reserved.ShouldBe(2);
    }

    [Fact]
    public async Task Past_the_data_source_bound_the_least_recently_used_pool_without_requests_is_dropped()
    {
        // The bound is max(MaxDataSources, cap) = 3: a pool that may hold a connection is never dropped for the LRU alone.
        await using var budget = new Budget(cap: 3, perTenant: 2, maxDataSources: 2);
        var older = await budget.PinAsync();
        (await budget.OpenAsync(older)).Release();
        older.Dispose();
        budget.Clock.Advance(TimeSpan.FromSeconds(1));
        var newer = await budget.PinAsync();
        var first = await budget.OpenAsync(newer);
        var second = await budget.OpenAsync(newer);
        first.Release();
        second.Release();
        newer.Dispose();
        budget.Pool.Reserved.ShouldBe(3);
        budget.Clock.Advance(TimeSpan.FromSeconds(1));
        var busy = await budget.PinAsync();
        budget.Pool.DataSourceCount.ShouldBe(3, "three pools fit the bound of the cap");

        var third = await budget.PinAsync();
        budget.Pool.DataSourceCount.ShouldBe(3);
        budget.Pool.Reserved.ShouldBe(2, "the least recently used pool (reservation 1) went, the newer one (2) stayed");
        var fourth = await budget.PinAsync();
        budget.Pool.DataSourceCount.ShouldBe(3);
        budget.Pool.Reserved.ShouldBe(0, "then the newer one went");

        var fifth = await budget.PinAsync();
        budget.Pool.DataSourceCount.ShouldBe(4, "the bound is soft: pools with requests in flight are never dropped");
        busy.Dispose();
        third.Dispose();
        fourth.Dispose();
        fifth.Dispose();
    }

    /// <summary>A pool on a fake clock with tenants whose secrets are always there.</summary>
    private sealed class Budget : IAsyncDisposable
    {
        private readonly TestMeterFactory _meters = new();
        private readonly TenantConnectionMetrics _metrics;

        public Budget(int cap, int perTenant, int acquireTimeoutMs = 5_000, int idleSeconds = 300, int maxDataSources = 500)
        {
            var options = new TenancyOptions
            {
                MaxOpenTenantConnections = cap,
                PerTenantMaxPoolSize = perTenant,
                ConnectionAcquireTimeoutMs = acquireTimeoutMs,
                DataSourceIdleSeconds = idleSeconds,
                MaxDataSources = maxDataSources,
            };
            _metrics = new TenantConnectionMetrics(_meters);
            Pool = new TenantConnectionPool(
                new FixedSecrets(), Options.Create(options), Clock, _metrics, NullLogger<TenantConnectionPool>.Instance);
        }

        public FakeTimeProvider Clock { get; } = new();

        public TenantConnectionPool Pool { get; }

        /// <summary>Starts a request of a new tenant (its scope pins the tenant's pool until disposed).</summary>
        public async Task<TenantPoolLease> PinAsync()
        {
            var id = Guid.NewGuid();
            var name = $"tenant_{id:N}";
            var location = new TenantLocation(id, name, "Org", OrganizationStatus.Active, Plan.Free, null, "127.0.0.1", 1, name, name);
            return await Pool.PinAsync(location, CancellationToken.None);
        }

        /// <summary>Asks for a connection slot the way the EF Core interceptor does before it opens a connection.</summary>
        public Request Open(TenantPoolLease lease, CancellationToken cancellationToken = default)
        {
            var handle = lease.CreateHandle();
            return new Request(handle, handle.AcquireAsync(cancellationToken).AsTask());
        }

        /// <summary>A slot that must be granted at once.</summary>
        public async Task<Request> OpenAsync(TenantPoolLease lease)
        {
            var request = Open(lease);
            request.IsWaiting.ShouldBeFalse("a free slot was expected");
            await request.GrantedAsync();
            return request;
        }

        public async ValueTask DisposeAsync()
        {
            await Pool.DisposeAsync();
            _metrics.Dispose();
            _meters.Dispose();
        }
    }

    /// <summary>One connection request: waiting while its task runs; <see cref="Release"/> is the connection closing.</summary>
    private sealed class Request(TenantConnectionHandle handle, Task granted)
    {
        public bool IsWaiting => !granted.IsCompleted;

        public Task GrantedAsync() => granted.WaitAsync(Patience);

        public void Release() => handle.ReleaseIfHeld();
    }

    private sealed class FixedSecrets : ISecretStore
    {
        public Task<string?> GetAsync(string name, CancellationToken cancellationToken = default) =>
            Task.FromResult<string?>("password");

        public Task SetAsync(string name, string value, CancellationToken cancellationToken = default) =>
            Task.CompletedTask;

        public Task DeleteAsync(string name, CancellationToken cancellationToken = default) =>
            Task.CompletedTask;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(meter => meter.Dispose());
    }
}
