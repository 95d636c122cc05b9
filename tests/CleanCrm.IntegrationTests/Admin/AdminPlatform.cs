using System.Net.Http.Headers;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.IntegrationTests.Admin;

/// <summary>
/// A platform of its own for the administration tests (a fixture of <see cref="PlatformCollection"/>), whose counts and
/// filters would be disturbed by the organizations the other tests create.
/// </summary>
public sealed class AdminPlatform : PlatformEnvironment
{
    // Ports of the unreachable servers: (host, port) is unique among registered servers.
    private static int _nextPort = 20_000;

    protected override bool UseSecondaryServer => true;

    private readonly SemaphoreSlim _workerGate = new(1, 1);

    private WorkerHostRunner? _worker;

    public ApiFactory Api { get; private set; } = null!;

    /// <summary>
    /// One worker for the whole collection, started on first use: a worker per test would leave a stopping job server on
    /// the same job storage that can still pick up the next test's job.
    /// </summary>
    public async Task<WorkerHostRunner> WorkerAsync()
    {
        await _workerGate.WaitAsync();
        try
        {
            return _worker ??= await WorkerHostRunner.StartAsync(this);
        }
        finally
        {
            _workerGate.Release();
        }
    }

    private readonly Lazy<Task> _ready;

    public AdminPlatform() => _ready = new Lazy<Task>(async () =>
    {
        await base.InitializeAsync();
        Api = new ApiFactory(this);
    });

    // Set up on first use, by the tests: xunit initializes collection fixtures concurrently, and two platforms migrating
    // their catalogs and templates on the same servers at once collide ("tuple concurrently updated").
    public override Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Creates this platform's catalog, templates and API host once; every test class awaits it first.</summary>
    public Task ReadyAsync() => _ready.Value;

    public override async Task DisposeAsync()
    {
        if (!_ready.IsValueCreated)
        {
            return;
        }

        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        _workerGate.Dispose();
        await Api.DisposeAsync();
        await base.DisposeAsync();
    }

    public HttpClient AdminClient()
    {
        var client = Api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={Guid.NewGuid()};admin");
        return client;
    }

    /// <summary>A signed-in user who is not a platform admin.</summary>
    public HttpClient UserClient() => Api.ClientFor(Guid.NewGuid());

    /// <summary>A short token that makes slugs of one test unique and findable with <c>q</c>.</summary>
    public static string NewToken() => "t" + Guid.NewGuid().ToString("N")[..9];

    /// <summary>
    /// A server row nothing connects to (no secret): enough for placement, listing and validation tests. Offline unless
    /// asked otherwise, so that fleet runs and placements of the other tests leave it alone.
    /// </summary>
    public async Task<DatabaseServer> AddUnreachableServerAsync(string name, DatabaseServerStatus status = DatabaseServerStatus.Offline)
    {
        var server = new DatabaseServer
        {
            Name = name,
            Host = "unreachable.invalid",
            Port = Interlocked.Increment(ref _nextPort),
            AdminUsername = "nobody",
            AdminSecretName = "dbserver-admin-none",
            Capacity = 1000,
            Status = status,
            CreatedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow,
        };
        await using var db = await CatalogAsync();
        db.DatabaseServers.Add(server);
        await db.SaveChangesAsync();
        return server;
    }

    public async Task SetServerStatusAsync(Guid serverId, DatabaseServerStatus status)
    {
        await using var db = await CatalogAsync();
        await db.DatabaseServers.Where(s => s.Id == serverId).ExecuteUpdateAsync(s => s.SetProperty(x => x.Status, status));
    }
}
