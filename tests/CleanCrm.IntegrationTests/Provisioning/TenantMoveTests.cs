using System.Net;
using System.Net.Http.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Provisioning;

[Collection(PlatformCollection.Name)]
public sealed class TenantMoveTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_tenant_moves_to_another_server_with_its_data_intact_and_the_api_follows()
    {
        var target = platform.SecondaryServer;
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        using var api = new ApiFactory(platform, new Dictionary<string, string?> { ["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "600" });
        var client = api.ClientFor(owner.Id, organization.Slug);
        for (var i = 0; i < 25; i++)
        {
            await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = $"Moved {i}", domain = $"m{i}.example.com" });
        }

        await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Ada", email = "ada@m1.example.com" });
        var mover = platform.Services.GetRequiredService<TenantMover>();
        var report = await mover.MoveAsync(organization.Id, target.Id, CancellationToken.None);
        report.RowCounts["companies"].ShouldBe(25);
        report.RowCounts["contacts"].ShouldBe(1);

        var database = organization.DatabaseName;
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", database)).ShouldBe(0);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Secondary, database, "SELECT count(*) FROM companies"))
            .ShouldBe(25);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Secondary, database, "SELECT count(*) FROM pipeline_stages"))
            .ShouldBe(6);
        (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT database_server_id::text FROM organizations WHERE id = $1", organization.Id))
            .ShouldBe(target.Id.ToString());

        // The API (with a long cache) follows at once and writes land on the new server, as the tenant's own role.
        var list = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/companies?limit=200");
        list.GetProperty("items").GetArrayLength().ShouldBe(25);
        (await client.PostAsJsonAsync("/api/v1/companies", new { name = "After the move" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Secondary, database,
            "SELECT count(*) FROM companies WHERE name = 'After the move'")).ShouldBe(1);
    }

    [Fact]
    public async Task A_tenant_being_moved_refuses_requests_with_409_and_retry_after()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        await platform.SetStatusAsync(organization.Id, OrganizationStatus.Moving);
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var response = await api.ClientFor(owner.Id, organization.Slug)
            .PostAsJsonAsync("/api/v1/companies", new { name = "During the move" });
        response.Headers.RetryAfter.ShouldNotBeNull();
        (await Problem.ReadAsync(response, HttpStatusCode.Conflict)).Type.ShouldEndWith("/org_not_ready");
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM companies")).ShouldBe(0);
    }

    [Fact]
    public async Task The_move_endpoint_validates_its_input()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var admin = api.CreateClient();
        admin.DefaultRequestHeaders.Authorization =
            new System.Net.Http.Headers.AuthenticationHeaderValue("Dev", $"user={Guid.NewGuid()};admin");
        var path = $"/api/v1/admin/organizations/{organization.Id}/move";

        (await Problem.ReadAsync(await admin.PostAsJsonAsync(path, new { }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("databaseServerId");
        (await Problem.ReadAsync(await admin.PostAsJsonAsync(path, new { databaseServerId = "nope" }), HttpStatusCode.BadRequest))
            .Detail.ShouldContain("databaseServerId");
        (await Problem.ReadAsync(await admin.PostAsJsonAsync(path, new { databaseServerId = Guid.NewGuid() }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("databaseServerId");
        await Problem.ReadAsync(await admin.PostAsJsonAsync(path, new { databaseServerId = platform.PrimaryServer.Id }),
            HttpStatusCode.Conflict);
        await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/move",
            new { databaseServerId = platform.PrimaryServer.Id }), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await api.ClientFor(owner.Id).PostAsJsonAsync(path, new { databaseServerId = platform.PrimaryServer.Id }),
            HttpStatusCode.Forbidden);
        (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organization.Id)).ShouldBe("active");
    }
}
