using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Azure.Core.Pipeline;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Secrets;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CleanCrm.IntegrationTests.Secrets;

/// <summary>
/// The Key Vault secret store unreachable (docs/reliability.md, scenario 5b; docs/MULTI_TENANCY.md, "Secret store"): the
/// store gives up within its bound, the API serves organizations whose pool it holds and answers 503
/// <c>secret_store_unavailable</c> with Retry-After for the others, and provisioning waits for the vault instead of failing.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SecretStoreOutageTests(SharedPlatform platform) : IDisposable
{
    private readonly KeyVaultStub _vault = new();
    private readonly WireRecordingHandler _wire = new();

    public void Dispose()
    {
        _vault.Dispose();
        _wire.Dispose();
    }

    [Fact]
    public async Task A_vault_that_does_not_answer_is_unavailable_after_the_timeout_and_retries_not_the_sdks_100_seconds()
    {
        var store = CreateStore(new KeyVaultOptions { VaultUri = _vault.VaultUri, RequestTimeoutSeconds = 1, MaxRetries = 1 });
        _vault.DelayEveryRequestBy(TimeSpan.FromSeconds(10));

        var watch = Stopwatch.StartNew();
        var exception = await Should.ThrowAsync<SecretStoreUnavailableException>(() => store.GetAsync("any-secret"));
        watch.Stop();

        exception.Operation.ShouldBe("get");
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(8), "(MaxRetries + 1) x RequestTimeoutSeconds plus a 0.5 s backoff");
        _wire.Requests.Count.ShouldBe(2, "one attempt and one retry");
    }

    [Fact]
    public async Task A_vault_that_refuses_connections_is_unavailable_for_reads_writes_and_deletes()
    {
        // A port nothing listens on: connections are refused.
        var options = new KeyVaultOptions
        {
            VaultUri = new Uri($"https://127.0.0.1:{ClosedPort()}/"),
            RequestTimeoutSeconds = 2,
            MaxRetries = 1,
        };
        var store = CreateStore(options);

        var watch = Stopwatch.StartNew();
        (await Should.ThrowAsync<SecretStoreUnavailableException>(() => store.GetAsync("any-secret"))).Operation.ShouldBe("get");
        (await Should.ThrowAsync<SecretStoreUnavailableException>(() => store.SetAsync("any-secret", "v"))).Operation.ShouldBe("set");
        (await Should.ThrowAsync<SecretStoreUnavailableException>(() => store.DeleteAsync("any-secret"))).Operation.ShouldBe("delete");
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task An_org_whose_pool_is_held_is_served_and_an_uncached_one_is_a_503_with_retry_after_while_the_vault_fails()
    {
        var owner = await platform.CreateUserAsync();
        var warm = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var cold = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var local = platform.Services.GetRequiredService<ISecretStore>();
        foreach (var organization in new[] { warm, cold })
        {
            var name = SecretName.ForTenantDatabase(organization.Id);
            _vault.Seed(name, (await local.GetAsync(name))!);
        }

        var store = CreateStore(new KeyVaultOptions { VaultUri = _vault.VaultUri, RequestTimeoutSeconds = 2, MaxRetries = 1 });
        using var api = new ApiFactory(platform, services: services => services.Replace(ServiceDescriptor.Singleton<ISecretStore>(store)));
        var warmClient = api.ClientFor(owner.Id, warm.Slug);
        var coldClient = api.ClientFor(owner.Id, cold.Slug);
        (await warmClient.GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var outage = _vault.FailAuthenticatedRequestsWith(503);
        var served = await warmClient.GetAsync("/api/v1/companies");
        served.StatusCode.ShouldBe(HttpStatusCode.OK, "its pool holds the password: the vault is not asked again");
        var refused = await coldClient.GetAsync("/api/v1/companies");
        var problem = await Problem.ReadAsync(refused, HttpStatusCode.ServiceUnavailable);
        problem.Code.ShouldBe(SecretStoreUnavailableException.Code);
        refused.Headers.RetryAfter.ShouldNotBeNull();
        refused.Headers.RetryAfter.Delta.ShouldBe(TimeSpan.FromSeconds(5));
        problem.Detail!.ShouldNotContain("InternalServerError");
        (await coldClient.PostAsJsonAsync("/api/v1/companies", new { name = "During the outage" })).StatusCode
            .ShouldBe(HttpStatusCode.ServiceUnavailable);

        _vault.Server.DeleteMapping(outage);
        var recovered = await coldClient.GetAsync("/api/v1/companies");
        recovered.StatusCode.ShouldBe(HttpStatusCode.OK, await recovered.Content.ReadAsStringAsync());
        (await PlatformEnvironment.CountRowsAsync(cold, "SELECT count(*) FROM companies WHERE name = 'During the outage'")).ShouldBe(0);
    }

    [Fact]
    public async Task A_signup_during_a_vault_outage_waits_for_the_vault_and_is_provisioned_once_it_is_back()
    {
        var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
        _vault.Seed(platform.PrimaryServer.AdminSecretName, TestDatabaseServers.Primary.Password!);
        var store = CreateStore(new KeyVaultOptions { VaultUri = _vault.VaultUri, RequestTimeoutSeconds = 2, MaxRetries = 0 });
        var settings = new Dictionary<string, string?>(platform.Settings)
        {
            ["CleanCrm:Provisioning:RetryDelayMs"] = "100",
            ["CleanCrm:Provisioning:WarmPool:Size"] = "0",
        };
        var outage = _vault.FailAuthenticatedRequestsWith(503);
        await using var worker = PlatformEnvironment.BuildServices(settings,
            services => services.Replace(ServiceDescriptor.Singleton<ISecretStore>(store)));

        var provisioning = worker.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None);
        // Three attempts (one vault call each, MaxRetries 0) used to mark the organization failed: the run must go on well
        // past that many refused calls and still be waiting.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_vault.Exchanges.Count(e => Equals(e.ResponseMessage.StatusCode, 503)) < 6 && !provisioning.IsCompleted)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the run stopped calling the vault before it was back");
            await Task.Delay(100);
        }

        provisioning.IsCompleted.ShouldBeFalse("the run waits for the vault");
        (await StatusAsync(organization.Id)).ShouldNotBe("failed");

        _vault.Server.DeleteMapping(outage);
        (await provisioning.WaitAsync(TimeSpan.FromSeconds(90))).ShouldBe(ProvisioningStatus.Succeeded);
        (await StatusAsync(organization.Id)).ShouldBe("active");
        _vault.VersionsOf(SecretName.ForTenantDatabase(organization.Id)).Count.ShouldBe(1, "the password is written once");
        await using var asTenant = new Npgsql.NpgsqlConnection(
            new Npgsql.NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
            {
                Username = Organization.DatabaseRoleFor(organization.Id),
                Password = _vault.VersionsOf(SecretName.ForTenantDatabase(organization.Id))[0],
                Database = Organization.DatabaseNameFor(organization.Id),
                Pooling = false,
            }.ConnectionString);
        await asTenant.OpenAsync();
    }

    private KeyVaultSecretStore CreateStore(KeyVaultOptions options)
    {
        var clientOptions = KeyVaultSecretStore.ClientOptionsFor(options);
        clientOptions.Transport = new HttpClientTransport(_wire);
        // The stub is not on *.vault.azure.net, so the challenge's resource cannot match its host.
        clientOptions.DisableChallengeResourceVerification = true;
        return KeyVaultSecretStore.Create(options, new RecordingTokenCredential(KeyVaultStub.AccessToken), clientOptions);
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private Task<string?> StatusAsync(Guid organizationId) =>
        TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organizationId);
}
