using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Provisioning;

[Collection(PlatformCollection.Name)]
public sealed class OrganizationDeletionTests(SharedPlatform platform)
{
    [Fact]
    public async Task Deleting_revokes_access_at_once_and_the_job_drops_database_role_and_secret()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var client = api.ClientFor(owner.Id, organization.Slug);
        (await client.PostAsJsonAsync("/api/v1/companies", new { name = "Soon gone" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        var admin = api.CreateClient();
        admin.DefaultRequestHeaders.Authorization =
            new System.Net.Http.Headers.AuthenticationHeaderValue("Dev", $"user={Guid.NewGuid()};admin");
        await Problem.ReadAsync(await client.DeleteAsync($"/api/v1/admin/organizations/{organization.Id}"), HttpStatusCode.Forbidden);
        var accepted = await admin.DeleteAsync($"/api/v1/admin/organizations/{organization.Id}");
        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().ShouldBe("deleting");
        await Problem.ReadAsync(await client.GetAsync("/api/v1/companies"), HttpStatusCode.NotFound);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", organization.DatabaseName)).ShouldBe(1, "kept during the grace period");

        await platform.Services.GetRequiredService<OrganizationDeletionJob>().RunAsync(organization.Id, CancellationToken.None);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", organization.DatabaseName)).ShouldBe(0);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = $1", organization.DatabaseRole)).ShouldBe(0);
        (await platform.Services.GetRequiredService<ISecretStore>().GetAsync(SecretName.ForTenantDatabase(organization.Id))).ShouldBeNull();
        (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organization.Id)).ShouldBe("deleted");
        await Problem.ReadAsync(await admin.DeleteAsync($"/api/v1/admin/organizations/{organization.Id}"), HttpStatusCode.NotFound);

        // Running the job again is harmless.
        await platform.Services.GetRequiredService<OrganizationDeletionJob>().RunAsync(organization.Id, CancellationToken.None);
    }
}
