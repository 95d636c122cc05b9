using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>An open that fails or that the caller abandons must give its slot back (a client disconnecting mid-open).</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantConnectionSlotTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_cancelled_open_releases_its_connection_slot()
    {
        await using var silent = await SilentServer.StartAsync(platform);
        await using var scope = await silent.Services.GetRequiredService<TenantScopeFactory>().BeginAsync(silent.Location);

        // The caller is gone as the open starts: the slot is taken, then the open gives up at once.
        using var abandon = new CancellationTokenSource();
        await abandon.CancelAsync();
        var abandoned = await Should.ThrowAsync<OperationCanceledException>(() => silent.Db.Companies.CountAsync(abandon.Token));
        abandoned.CancellationToken.ShouldBe(abandon.Token, "the caller's own cancellation, which the API answers as a closed request");
        silent.Pool.InUse.ShouldBe(0, "the slot leaked");
        silent.Pool.Reserved.ShouldBe(1, "the slot was taken before the open gave up");
    }

    [Fact]
    public async Task An_open_abandoned_while_the_server_does_not_answer_fails_at_the_connect_timeout_and_releases_its_slot()
    {
        await using var silent = await SilentServer.StartAsync(platform);
        await using var scope = await silent.Services.GetRequiredService<TenantScopeFactory>().BeginAsync(silent.Location);

        using var abandon = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        var query = silent.Db.Companies.CountAsync(abandon.Token);
        // Once the client has sent its first bytes, Npgsql is past the (cancellable) TCP connect, waiting for an answer.
        using var accepted = await silent.Listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10));
        (await accepted.GetStream().ReadAsync(new byte[64]).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).ShouldBePositive();
        silent.Pool.InUse.ShouldBe(1, "the open holds its slot while it waits for the server");
        await abandon.CancelAsync();

        // Npgsql does not abandon the startup handshake on cancellation: the open ends only when the tenant data source's
        // 15 s connect timeout does. Which error the caller then sees is a race inside Npgsql between the timeout and the
        // already-cancelled token: EF Core's transient-failure error around Npgsql's timeout, or the cancellation.
        var failed = await Should.ThrowAsync<Exception>(() => query);
        if (failed is OperationCanceledException cancelled)
        {
            cancelled.CancellationToken.ShouldBe(abandon.Token);
        }
        else
        {
            failed.ShouldBeOfType<InvalidOperationException>().Message
                .ShouldStartWith("An exception has been raised that is likely due to a transient failure.");
            failed.InnerException.ShouldBeOfType<NpgsqlException>().InnerException.ShouldBeOfType<TimeoutException>();
        }

        watch.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(14));
        silent.Pool.InUse.ShouldBe(0, "the slot leaked");
    }

    /// <summary>
    /// A server that accepts TCP connections and never answers, a platform whose only tenant lives there (one connection
    /// slot), and a request's services (its tenant scope is begun by the test, where it must flow).
    /// </summary>
    private sealed class SilentServer : IAsyncDisposable
    {
        private readonly Guid _organizationId = Guid.NewGuid();
        private AsyncServiceScope _requestScope;

        private SilentServer(TcpListener listener, ServiceProvider services)
        {
            Listener = listener;
            Services = services;
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Location = new TenantLocation(
                _organizationId, "silent-org", "Silent", OrganizationStatus.Active, Plan.Free, Guid.NewGuid(),
                "127.0.0.1", port, "nowhere", "nobody");
        }

        public TcpListener Listener { get; }

        public ServiceProvider Services { get; }

        public TenantLocation Location { get; }

        public TenantConnectionPool Pool => Services.GetRequiredService<TenantConnectionPool>();

        public TenantDbContext Db => _requestScope.ServiceProvider.GetRequiredService<TenantDbContext>();

        public static async Task<SilentServer> StartAsync(SharedPlatform platform)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var services = PlatformEnvironment.BuildServices(new Dictionary<string, string?>(platform.Settings)
            {
                ["CleanCrm:Tenancy:MaxOpenTenantConnections"] = "1",
                ["CleanCrm:Tenancy:PerTenantMaxPoolSize"] = "1",
            });
            var server = new SilentServer(listener, services);
            await services.GetRequiredService<ISecretStore>().SetAsync(SecretName.ForTenantDatabase(server._organizationId), "irrelevant");
            server._requestScope = services.CreateAsyncScope();
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _requestScope.DisposeAsync();
            await Services.GetRequiredService<ISecretStore>().DeleteAsync(SecretName.ForTenantDatabase(_organizationId));
            await Services.DisposeAsync();
            Listener.Dispose();
        }
    }
}
