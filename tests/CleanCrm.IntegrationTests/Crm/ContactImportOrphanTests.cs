using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Imports;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Crm;

/// <summary>
/// A worker that dies mid-import leaves the row <c>running</c> (its transaction rolled back). The queue delivers the job
/// again: the importer asks to be retried while the row is fresh, and claims and finishes it once the row is stale.
/// No worker runs in this class; the job is invoked as the queue would.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ContactImportOrphanTests(SharedPlatform platform)
{
    [Fact]
    public async Task An_orphaned_running_import_is_retried_later_and_claimed_again_once_stale()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var client = api.ClientFor(owner.Id, organization.Slug);
        using var csv =
            new StringContent("firstName,lastName,email\nAda,Lovelace,ada-orphan@example.com\nGrace,Hopper,grace-orphan@example.com\n");
        csv.Headers.ContentType = MediaTypeHeaderValue.Parse("text/csv; charset=utf-8");
        var accepted = await client.PostAsync("/api/v1/imports/contacts", csv);
        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        var importId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("importId").GetGuid();

        // Orphaned a moment ago: a delivery now must not take it over, and must ask to be retried (not drop it).
        await Sql(organization, $"UPDATE imports SET status = 'running', started_at = now(), updated_at = now() WHERE id = '{importId}'");
        var job = api.Services.GetRequiredService<ContactImportJob>();
        await Should.ThrowAsync<ImportBusyException>(() => job.RunAsync(organization.Id, importId, CancellationToken.None));
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM contacts")).ShouldBe(0);

        // Orphaned longer than the stale period (20 min by default): the next delivery claims and finishes it.
        await Sql(organization, $"UPDATE imports SET updated_at = now() - interval '1 hour' WHERE id = '{importId}'");
        await job.RunAsync(organization.Id, importId, CancellationToken.None);
        var import = await client.GetFromJsonAsync<JsonElement>($"/api/v1/imports/{importId}");
        import.GetProperty("status").GetString().ShouldBe("succeeded", import.ToString());
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM contacts WHERE email LIKE '%-orphan@example.com'"))
            .ShouldBe(2);

        // A finished import delivered once more is left alone.
        await job.RunAsync(organization.Id, importId, CancellationToken.None);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM contacts")).ShouldBe(2);
    }

    private static async Task Sql(Organization organization, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        (await command.ExecuteNonQueryAsync()).ShouldBe(1);
    }
}
