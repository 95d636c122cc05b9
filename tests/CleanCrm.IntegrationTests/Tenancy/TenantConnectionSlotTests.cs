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

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>A connection open that the caller abandons must give its slot back (a client disconnecting mid-open).</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantConnectionSlotTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_cancelled_open_releases_its_connection_slot()
    {
        // A server that accepts TCP connections and never answers: the open hangs until it is cancelled.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var services = PlatformEnvironment.BuildServices(new Dictionary<string, string?>(platform.Settings)
        {
            ["CleanCrm:Tenancy:MaxOpenTenantConnections"] = "1",
            ["CleanCrm:Tenancy:PerTenantMaxPoolSize"] = "1",
        });
        var organizationId = Guid.NewGuid();
        await services.GetRequiredService<ISecretStore>().SetAsync(SecretName.ForTenantDatabase(organizationId), "irrelevant");
        var location = new TenantLocation(organizationId, "silent-org", "Silent", OrganizationStatus.Active, Plan.Free, Guid.NewGuid(), "127.0.0.1", port, "nowhere", "nobody");
        var pool = services.GetRequiredService<TenantConnectionPool>();

        for (var attempt = 0; attempt < 1; attempt++)
        {
            await using var scope = await services.GetRequiredService<TenantScopeFactory>().BeginAsync(location);
            await using var requestScope = services.CreateAsyncScope();
            var db = requestScope.ServiceProvider.GetRequiredService<TenantDbContext>();
            using var abandon = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var abandoned = await Should.ThrowAsync<OperationCanceledException>(() => db.Companies.CountAsync(abandon.Token));
            abandoned.CancellationToken.ShouldBe(abandon.Token, "the caller's own cancellation, which the API answers as a closed request");
            pool.InUse.ShouldBe(0, $"attempt {attempt}: the slot leaked");
        }

        await services.GetRequiredService<ISecretStore>().DeleteAsync(SecretName.ForTenantDatabase(organizationId));
    }
}
