using CleanCrm.Application.Common.Secrets;
using CleanCrm.Infrastructure.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>The caller waited longer than the acquire timeout for a tenant connection slot (answered with 503).</summary>
public sealed class TenantConnectionLimitException(int cap, TimeSpan waited)
    : Exception($"All {cap} tenant connection slots of this process stayed busy for {waited.TotalMilliseconds:0} ms.");

/// <summary>The tenant's database password is missing from the secret store.</summary>
public sealed class TenantCredentialsMissingException(Guid organizationId)
    : Exception($"No database credentials for organization '{organizationId}' in the secret store.");

/// <summary>
/// One <see cref="NpgsqlDataSource"/> per tenant in a bounded LRU, with a global cap on the physical connections the
/// process holds. Npgsql only opens a new physical connection when every pooled one of that tenant is busy, so a
/// tenant's physical connections never exceed the most it ever had checked out at once (its "reservation"). The sum of
/// reservations is kept at or below the cap: a tenant that needs one more takes a free unit, or clears the idle pool of
/// the least recently used tenant, or waits (then 503).
/// </summary>
public sealed partial class TenantConnectionPool : IAsyncDisposable
{
    // A tenant pool unused this long counts as stale: any tenant below its fair share may take its reservation.
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly Dictionary<Guid, TenantPoolEntry> _entries = [];
    private readonly ISecretStore _secrets;
    private readonly TenancyOptions _options;
    private readonly TimeProvider _clock;
    private readonly TenantConnectionMetrics _metrics;
    private readonly ILogger<TenantConnectionPool> _logger;
    private readonly ITimer _sweeper;
    private readonly LinkedList<SlotWaiter> _waiters = new();
    private readonly HashSet<Task> _disposals = [];
    private readonly Dictionary<(string Host, int Port), int> _serverBudgets = [];
    private readonly Dictionary<(string Host, int Port), (string Host, int Port)> _endpoints = [];
    private int _reservedTotal;
    private int _inUseTotal;
    private int _pinnedEntries;
    private int _cap;
    private bool _disposed;

    public TenantConnectionPool(
        ISecretStore secrets,
        IOptions<TenancyOptions> options,
        TimeProvider clock,
        TenantConnectionMetrics metrics,
        ILogger<TenantConnectionPool> logger)
    {
        _secrets = secrets;
        _options = options.Value;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        // Derived caps start at one tenant's worth until the first connection has read the server's budget: a burst
        // at start-up waits for milliseconds instead of overrunning a small server.
        _cap = _options.MaxOpenTenantConnections > 0 ? _options.MaxOpenTenantConnections : _options.PerTenantMaxPoolSize;
        foreach (var endpoint in _options.PgBouncerEndpoints)
        {
            PgBouncerEndpoint.TryParse(endpoint.Server, out var serverHost, out var serverPort);
            PgBouncerEndpoint.TryParse(endpoint.Endpoint, out var host, out var port);
            _endpoints[(serverHost, serverPort)] = (host, port);
        }

        var sweepEvery = TimeSpan.FromSeconds(Math.Clamp(_options.DataSourceIdleSeconds / 2, 1, 30));
        _sweeper = clock.CreateTimer(_ => SweepIdle(), null, sweepEvery, sweepEvery);
        metrics.Observe(() => DataSourceCount, () => InUse, () => Reserved);
        metrics.ObserveCap(() => Cap);
    }

    public int DataSourceCount
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public int InUse => Volatile.Read(ref _inUseTotal);

    /// <summary>Upper bound of the physical tenant connections this process holds right now.</summary>
    public int Reserved => Volatile.Read(ref _reservedTotal);

    /// <summary>The cap in force: configured, or derived from the servers seen so far (see <see cref="TenancyOptions"/>).</summary>
    public int Cap => Volatile.Read(ref _cap);

    // A data source with a parked connection must not be evicted to make room for another (that closes the connection),
    // so the LRU bound grows with the cap: at scale every hot tenant keeps one data source and one connection.
    private int DataSourceBound => Math.Max(_options.MaxDataSources, Cap);

    /// <summary>
    /// Called once a tenant connection is open: with a derived cap, the first connection to each server reads the
    /// server's connection budget and sets the cap (one query per server per process).
    /// </summary>
    internal async ValueTask OnOpenedAsync(TenantPoolEntry entry, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_options.MaxOpenTenantConnections > 0)
        {
            return;
        }

        var server = (Host: entry.Location.Host ?? string.Empty, entry.Location.Port);
        lock (_gate)
        {
            if (_serverBudgets.ContainsKey(server))
            {
                return;
            }
        }

        int budget;
        int available;
        try
        {
            await using var command = new NpgsqlCommand(
                "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int", connection);
            available = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
            budget = DerivedCap(available, _options);
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidCastException)
        {
            // The request goes on; the next connection to this server tries again.
            LogBudgetUnknown(_logger, exception, server.Host, server.Port, Cap);
            return;
        }

        lock (_gate)
        {
            _serverBudgets[server] = budget;
            Volatile.Write(ref _cap, _serverBudgets.Values.Min());
            Signal();
        }

        LogBudget(_logger, server.Host, server.Port, available, Cap);
    }

    /// <summary>The per-process share of a server's connections: (available − reserved) ÷ processes, at least 1.</summary>
    public static int DerivedCap(int availableConnections, TenancyOptions options) =>
        Math.Max(1, (availableConnections - options.ReservedServerConnections) / options.Processes);

    /// <summary>Pins the tenant's data source (creating it if needed) so it cannot be evicted while a scope uses it.</summary>
    public async ValueTask<TenantPoolLease> PinAsync(TenantLocation location, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(location.OrganizationId, out var existing) && existing.Serves(location))
            {
                AddPin(existing);
                existing.LastUsed = _clock.GetTimestamp();
                return new TenantPoolLease(this, existing);
            }
        }

        var password = await _secrets.GetAsync(SecretName.ForTenantDatabase(location.OrganizationId), cancellationToken)
                       ?? throw new TenantCredentialsMissingException(location.OrganizationId);
        var created = new TenantPoolEntry(location, BuildDataSource(location, password));
        var discard = new List<TenantPoolEntry>();
        TenantPoolEntry pinned;
        lock (_gate)
        {
            if (_entries.TryGetValue(location.OrganizationId, out var existing) && existing.Serves(location))
            {
                discard.Add(created);
                pinned = existing;
            }
            else
            {
                if (existing is not null)
                {
                    // The tenant moved or its credentials changed: retire the old pool once nobody uses it.
                    _entries.Remove(location.OrganizationId);
                    existing.Retired = true;
                    if (TryFree(existing))
                    {
                        discard.Add(existing);
                    }
                }

                if (_entries.Count >= DataSourceBound
                    && FindLeastRecentlyUsed(e => e.Pins == 0 && e.InUse == 0, null) is { } victim)
                {
                    _entries.Remove(victim.Location.OrganizationId);
                    TryFree(victim);
                    discard.Add(victim);
                    _metrics.Evictions.Add(1);
                }

                _entries[location.OrganizationId] = created;
                pinned = created;
            }

            AddPin(pinned);
            pinned.LastUsed = _clock.GetTimestamp();
            Signal();
        }

        foreach (var entry in discard)
        {
            await entry.DataSource.DisposeAsync();
        }

        return new TenantPoolLease(this, pinned);
    }

    /// <summary>Forgets a tenant's pool (after a move, a password rotation or a delete).</summary>
    public async ValueTask EvictAsync(Guid organizationId)
    {
        TenantPoolEntry? dispose = null;
        lock (_gate)
        {
            if (_entries.Remove(organizationId, out var entry))
            {
                entry.Retired = true;
                if (TryFree(entry))
                {
                    dispose = entry;
                }
            }
        }

        if (dispose is not null)
        {
            await dispose.DataSource.DisposeAsync();
        }
    }

    internal async ValueTask AcquireSlotAsync(TenantPoolEntry entry, CancellationToken cancellationToken)
    {
        SlotWaiter waiter;
        lock (_gate)
        {
            if (TryReserve(entry))
            {
                return;
            }

            waiter = new SlotWaiter(entry);
            waiter.Node = _waiters.AddLast(waiter);
        }

        // The waiter is queued: whoever frees capacity (a release, an unpin, a sweep) reserves the slot for it under
        // the lock and completes its task, in arrival order. Only the callers that got a slot are woken; the earlier
        // broadcast woke every waiter on every release (each raced for the lock, one won, the rest queued again),
        // which cost more CPU than the queries themselves once requests outnumbered a tenant's connections.
        _metrics.Waits.Add(1);
        var started = _clock.GetTimestamp();
        try
        {
            await waiter.Granted.Task.WaitAsync(TimeSpan.FromMilliseconds(_options.ConnectionAcquireTimeoutMs), _clock, cancellationToken);
            _metrics.WaitTime.Record(_clock.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            bool granted;
            lock (_gate)
            {
                granted = waiter.Node is null;
                if (!granted)
                {
                    _waiters.Remove(waiter.Node!);
                    waiter.Node = null;
                }
            }

            if (granted)
            {
                // The slot was handed over just as the wait ended: keep it on a timeout, give it back on a cancel.
                if (exception is TimeoutException)
                {
                    _metrics.WaitTime.Record(_clock.GetElapsedTime(started).TotalMilliseconds);
                    return;
                }

                ReleaseSlot(entry);
                throw;
            }

            if (exception is TimeoutException)
            {
                _metrics.Refusals.Add(1);
                LogRefused(_logger, entry.Location.OrganizationId, Cap);
                throw new TenantConnectionLimitException(Cap, _clock.GetElapsedTime(started));
            }

            throw;
        }
    }

    internal void ReleaseSlot(TenantPoolEntry entry)
    {
        var dispose = false;
        lock (_gate)
        {
            entry.InUse--;
            _inUseTotal--;
            entry.LastUsed = _clock.GetTimestamp();
            dispose = entry.Retired && TryFree(entry);
            Signal();
        }

        if (dispose)
        {
            DisposeInBackground(entry);
        }
    }

    internal void Unpin(TenantPoolEntry entry)
    {
        var dispose = false;
        lock (_gate)
        {
            if (--entry.Pins == 0)
            {
                _pinnedEntries--;
            }

            entry.LastUsed = _clock.GetTimestamp();
            dispose = entry.Retired && TryFree(entry);
            Signal();
        }

        if (dispose)
        {
            DisposeInBackground(entry);
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<TenantPoolEntry> all;
        lock (_gate)
        {
            _disposed = true;
            all = [.. _entries.Values];
            _entries.Clear();
        }

        await _sweeper.DisposeAsync();
        foreach (var entry in all)
        {
            await entry.DataSource.DisposeAsync();
        }

        Task[] pending;
        lock (_gate)
        {
            pending = [.. _disposals];
        }

        await Task.WhenAll(pending);
    }

    // Its callers (a Closed event, a lease's Dispose, the sweep timer) are synchronous; a failure is logged, DisposeAsync waits for it.
    private void DisposeInBackground(TenantPoolEntry entry)
    {
        var disposal = DisposeLoggedAsync(entry);
        lock (_gate)
        {
            _disposals.Add(disposal);
        }

        disposal.ContinueWith(
            (done, pool) =>
            {
                var self = (TenantConnectionPool)pool!;
                lock (self._gate)
                {
                    self._disposals.Remove(done);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task DisposeLoggedAsync(TenantPoolEntry entry)
    {
        try
        {
            await entry.DataSource.DisposeAsync();
        }
        catch (Exception exception)
        {
            LogDisposeFailed(_logger, exception, entry.Location.OrganizationId);
        }
    }

    private bool TryReserve(TenantPoolEntry entry)
    {
        if (entry.InUse >= _options.PerTenantMaxPoolSize)
        {
            return false;
        }

        if (entry.InUse >= entry.Reserved)
        {
            // A tenant holds at most its fair share of the cap (cap / tenants with requests in flight, at least 1);
            // beyond it, it waits for one of its own connections. Without this, tenants x per-tenant pool > cap
            // thrashes: a tenant grows into free units, is later evicted whole (Clear closes all its idle
            // connections), steals back from another, and every steal costs a new physical connection.
            var fairShare = Math.Max(1, Cap / Math.Max(1, _pinnedEntries));
            if (entry.Reserved >= fairShare)
            {
                return false;
            }

            if (_reservedTotal >= Cap)
            {
                // An idle pool above its share, or of a tenant unused for a while, can always be taken back. A tenant
                // that holds nothing yet may also take the idle pool of any tenant with no request in flight (it must
                // make progress); one that already holds a connection does not, or the victim, now at zero, steals
                // from the next: churn without end.
                var hasNone = entry.Reserved == 0;
                var victim = FindLeastRecentlyUsed(
                    e => e.InUse == 0 && e.Reserved > 0
                         && (e.Reserved > fairShare || (e.Pins == 0 && (hasNone || _clock.GetElapsedTime(e.LastUsed) >= StaleAfter))),
                    entry);
                if (victim is null)
                {
                    return false;
                }

                // Its idle physical connections are closed before ours can be opened, so the cap holds.
                _reservedTotal -= victim.Reserved;
                victim.Reserved = 0;
                victim.DataSource.Clear();
                _metrics.Evictions.Add(1);
            }

            entry.Reserved++;
            _reservedTotal++;
        }

        entry.InUse++;
        _inUseTotal++;
        return true;
    }

    // Frees a retired or evicted entry's reservation when nobody uses it; true when its data source can be disposed.
    private bool TryFree(TenantPoolEntry entry)
    {
        if (entry.Pins > 0 || entry.InUse > 0 || entry.Freed)
        {
            return false;
        }

        _reservedTotal -= entry.Reserved;
        entry.Reserved = 0;
        entry.Freed = true;
        return true;
    }

    private void AddPin(TenantPoolEntry entry)
    {
        if (entry.Pins++ == 0)
        {
            _pinnedEntries++;
        }
    }

    private TenantPoolEntry? FindLeastRecentlyUsed(Func<TenantPoolEntry, bool> eligible, TenantPoolEntry? except)
    {
        TenantPoolEntry? oldest = null;
        foreach (var candidate in _entries.Values)
        {
            if (candidate != except && eligible(candidate) && (oldest is null || candidate.LastUsed < oldest.LastUsed))
            {
                oldest = candidate;
            }
        }

        return oldest;
    }

    private void SweepIdle()
    {
        var idleFor = TimeSpan.FromSeconds(_options.DataSourceIdleSeconds);
        var dispose = new List<TenantPoolEntry>();
        lock (_gate)
        {
            foreach (var entry in _entries.Values.ToList())
            {
                if (entry.Pins == 0 && entry.InUse == 0 && _clock.GetElapsedTime(entry.LastUsed) >= idleFor)
                {
                    _entries.Remove(entry.Location.OrganizationId);
                    if (TryFree(entry))
                    {
                        dispose.Add(entry);
                    }
                }
            }

            if (dispose.Count > 0)
            {
                Signal();
            }
        }

        foreach (var entry in dispose)
        {
            DisposeInBackground(entry);
        }
    }

    private NpgsqlDataSource BuildDataSource(TenantLocation location, string password)
    {
        var (host, port) = _endpoints.TryGetValue((location.Host ?? string.Empty, location.Port), out var endpoint)
            ? endpoint
            : (location.Host, location.Port);
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = host,
            Port = port,
            Database = location.DatabaseName,
            Username = location.DatabaseRole,
            Password = password,
            Pooling = true,
            MinPoolSize = 0,
            MaxPoolSize = _options.PerTenantMaxPoolSize,
            ConnectionIdleLifetime = _options.ConnectionIdleLifetimeSeconds,
            ConnectionPruningInterval = Math.Clamp(_options.ConnectionIdleLifetimeSeconds / 2, 1, 10),
            Timeout = 15,
            CommandTimeout = 30,
            ApplicationName = "cleancrm",
            NoResetOnClose = _options.PgBouncer,
            MaxAutoPrepare = _options.PgBouncer ? 0 : 32,
            AutoPrepareMinUsages = 2,
            SslMode = Enum.Parse<SslMode>(_options.SslMode, ignoreCase: true),
        };
        var builder = new NpgsqlDataSourceBuilder(connectionString.ConnectionString) { Name = $"tenant-{location.OrganizationId:N}" };
        builder.ConfigureTypeLoading(types => types.EnableTypeLoading(_options.LoadServerTypes));
        return builder.Build();
    }

    // Called under the lock whenever capacity may have been freed: hands slots to queued waiters, oldest first. A
    // tenant that cannot get a slot now is skipped for the rest of the pass (later grants only use capacity up).
    private void Signal()
    {
        HashSet<TenantPoolEntry>? blocked = null;
        var node = _waiters.First;
        while (node is not null)
        {
            var next = node.Next;
            var waiter = node.Value;
            if (blocked is null || !blocked.Contains(waiter.Entry))
            {
                if (TryReserve(waiter.Entry))
                {
                    _waiters.Remove(node);
                    waiter.Node = null;
                    waiter.Granted.TrySetResult();
                }
                else
                {
                    (blocked ??= []).Add(waiter.Entry);
                }
            }

            node = next;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refused a connection for organization {OrganizationId}: all {Cap} tenant connection slots stayed busy")]
    private static partial void LogRefused(ILogger logger, Guid organizationId, int cap);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Tenant connection budget of {Host}:{Port}: {Available} connections available; cap of this process now {Cap}")]
    private static partial void LogBudget(ILogger logger, string host, int port, int available, int cap);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the connection budget of {Host}:{Port}; keeping cap {Cap}")]
    private static partial void LogBudgetUnknown(ILogger logger, Exception exception, string host, int port, int cap);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the retired connection pool of organization {OrganizationId} failed")]
    private static partial void LogDisposeFailed(ILogger logger, Exception exception, Guid organizationId);
}

/// <summary>
/// A caller queued for a connection slot; <see cref="Node"/> is null once it left the queue (guarded by the pool's lock).
/// </summary>
internal sealed class SlotWaiter(TenantPoolEntry entry)
{
    public TenantPoolEntry Entry { get; } = entry;

    public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LinkedListNode<SlotWaiter>? Node { get; set; }
}

/// <summary>A tenant's data source and its accounting; guarded by the pool's lock.</summary>
internal sealed class TenantPoolEntry(TenantLocation location, NpgsqlDataSource dataSource)
{
    public TenantLocation Location { get; } = location;

    public NpgsqlDataSource DataSource { get; } = dataSource;

    public int Pins { get; set; }

    public int InUse { get; set; }

    public int Reserved { get; set; }

    public long LastUsed { get; set; }

    public bool Retired { get; set; }

    public bool Freed { get; set; }

    public bool Serves(TenantLocation location) =>
        location.Host == Location.Host && location.Port == Location.Port && location.DatabaseName == Location.DatabaseName
        && location.DatabaseRole == Location.DatabaseRole;
}

/// <summary>Keeps a tenant's data source alive for a scope; hands out budgeted connections.</summary>
public sealed class TenantPoolLease : IDisposable
{
    private readonly TenantConnectionPool _pool;
    private int _disposed;

    internal TenantPoolLease(TenantConnectionPool pool, TenantPoolEntry entry)
    {
        _pool = pool;
        Entry = entry;
    }

    internal TenantPoolEntry Entry { get; }

    public TenantLocation Location => Entry.Location;

    internal TenantConnectionHandle CreateHandle() => new(_pool, Entry);

    /// <summary>An open connection as the tenant's own role, counted against the process cap until it is closed.</summary>
    public async ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var handle = CreateHandle();
        await handle.AcquireAsync(cancellationToken);
        try
        {
            await handle.Connection.OpenAsync(cancellationToken);
            await _pool.OnOpenedAsync(Entry, handle.Connection, cancellationToken);
            return handle.Connection;
        }
        catch
        {
            handle.ReleaseIfHeld();
            await handle.Connection.DisposeAsync();
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _pool.Unpin(Entry);
        }
    }
}

/// <summary>One tenant connection and its slot: taken before opening, given back when the connection closes.</summary>
internal sealed class TenantConnectionHandle
{
    private readonly TenantConnectionPool _pool;
    private readonly TenantPoolEntry _entry;
    private int _holding;

    public TenantConnectionHandle(TenantConnectionPool pool, TenantPoolEntry entry)
    {
        _pool = pool;
        _entry = entry;
        Connection = entry.DataSource.CreateConnection();
        Connection.StateChange += (_, change) =>
        {
            if (change.CurrentState == System.Data.ConnectionState.Closed)
            {
                ReleaseIfHeld();
            }
        };
    }

    public NpgsqlConnection Connection { get; }

    public ValueTask OnOpenedAsync(CancellationToken cancellationToken) => _pool.OnOpenedAsync(_entry, Connection, cancellationToken);

    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _holding) == 1)
        {
            return;
        }

        await _pool.AcquireSlotAsync(_entry, cancellationToken);
        Volatile.Write(ref _holding, 1);
    }

    public void ReleaseIfHeld()
    {
        if (Interlocked.Exchange(ref _holding, 0) == 1)
        {
            _pool.ReleaseSlot(_entry);
        }
    }
}
