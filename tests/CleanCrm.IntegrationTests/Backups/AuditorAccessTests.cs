using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Npgsql;
using static CleanCrm.IntegrationTests.Backups.BackupTestSupport;

namespace CleanCrm.IntegrationTests.Backups;

/// <summary>Auditors (and owners) list, verify and download their own org's backups only; every access is logged, append-only.</summary>
[Collection(PlatformCollection.Name)]
public sealed class AuditorAccessTests(SharedPlatform platform)
{
    private Task<ApiFactory> ApiAsync() => platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));

    [Fact]
    public async Task Auditor_lists_verifies_and_downloads_their_orgs_backups_and_every_access_is_logged()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var auditor = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (auditor, OrgRole.Auditor)],
            serverId: platform.PrimaryServer.Id);
        await OrgScopedEndpoints.CreateAsync(api.ClientFor(owner.Id, organization.Slug), "companies", new { name = "Audited" });
        var admin = AdminClient(api);
        var backup = await BackUpAsync(platform, admin, organization.Id);
        var backupId = backup.GetProperty("id").GetGuid();
        var client = api.ClientFor(auditor.Id, organization.Slug);

        var list = await client.GetFromJsonAsync<JsonElement>("/api/v1/backups");
        var item = list.GetProperty("items").EnumerateArray().Single();
        item.GetProperty("id").GetGuid().ShouldBe(backupId);
        item.GetProperty("status").GetString().ShouldBe("succeeded");
        item.GetProperty("sha256").GetString().ShouldBe(backup.GetProperty("sha256").GetString());
        item.GetProperty("expiresAt").GetDateTimeOffset()
            .ShouldBe(backup.GetProperty("finishedAt").GetDateTimeOffset().AddDays(7), TimeSpan.FromSeconds(1));
        item.TryGetProperty("location", out _).ShouldBeFalse("auditors do not see where the store keeps the file");

        var verify = await (await client.PostAsync($"/api/v1/backups/{backupId}/verify", null)).Content.ReadFromJsonAsync<JsonElement>();
        verify.GetProperty("valid").GetBoolean().ShouldBeTrue();

        var download = await client.GetAsync($"/api/v1/backups/{backupId}/download", HttpCompletionOption.ResponseHeadersRead);
        download.StatusCode.ShouldBe(HttpStatusCode.OK);
        download.Content.Headers.ContentType!.MediaType.ShouldBe("application/octet-stream");
        download.Content.Headers.ContentLength.ShouldBe(backup.GetProperty("sizeBytes").GetInt64());
        download.Content.Headers.ContentDisposition!.FileName!.ShouldContain(organization.Slug);
        var checksum = download.Headers.GetValues("X-Checksum-Sha256").Single();
        checksum.ShouldBe(backup.GetProperty("sha256").GetString());
        var body = await download.Content.ReadAsByteArrayAsync();
        Convert.ToHexStringLower(SHA256.HashData(body)).ShouldBe(checksum);
        System.Text.Encoding.ASCII.GetString(body, 0, 5).ShouldBe("PGDMP", "a pg_dump custom-format archive");

        var log = await client.GetFromJsonAsync<JsonElement>("/api/v1/backups/access-log");
        var entries = log.GetProperty("items").EnumerateArray().ToList();
        entries.Select(e => e.GetProperty("action").GetString()).ShouldBe(["download", "verify", "list"]);
        entries.ShouldAllBe(e => e.GetProperty("userId").GetGuid() == auditor.Id);
        entries.ShouldAllBe(e => !string.IsNullOrEmpty(e.GetProperty("occurredAt").GetString()));
        entries[0].GetProperty("backupId").GetGuid().ShouldBe(backupId);
        entries[1].GetProperty("outcome").GetString().ShouldBe("valid");

        // Owners read the same log; platform admins read any org's.
        (await api.ClientFor(owner.Id, organization.Slug).GetFromJsonAsync<JsonElement>("/api/v1/backups/access-log")).GetProperty("items")
            .GetArrayLength().ShouldBe(3);
        var adminView =
            await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/organizations/{organization.Id}/backup-access-log?limit=2");
        adminView.GetProperty("items").GetArrayLength().ShouldBe(2);
        var next = adminView.GetProperty("nextCursor").GetString();
        (await admin.GetFromJsonAsync<JsonElement>(
            $"/api/v1/admin/organizations/{organization.Id}/backup-access-log?limit=2&cursor={next}"))
            .GetProperty("items").EnumerateArray().Single().GetProperty("action").GetString().ShouldBe("list");
    }

    [Fact]
    public async Task Backups_of_another_org_are_not_found_and_those_attempts_leave_that_orgs_log_untouched()
    {
        var api = await ApiAsync();
        var auditor = await platform.CreateUserAsync();
        var otherOwner = await platform.CreateUserAsync();
        var mine = await platform.CreateOrganizationAsync(members: [(auditor, OrgRole.Auditor)], serverId: platform.PrimaryServer.Id);
        var other = await platform.CreateOrganizationAsync(members: [(otherOwner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var admin = AdminClient(api);
        var theirs = (await BackUpAsync(platform, admin, other.Id)).GetProperty("id").GetGuid();
        await BackUpAsync(platform, admin, mine.Id);
        var client = api.ClientFor(auditor.Id, mine.Slug);

        await Problem.ReadAsync(await client.GetAsync($"/api/v1/backups/{theirs}/download"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await client.PostAsync($"/api/v1/backups/{theirs}/verify", null), HttpStatusCode.NotFound);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/backups")).GetProperty("items").EnumerateArray()
            .ShouldAllBe(b => b.GetProperty("organizationId").GetGuid() == mine.Id);

        // Naming the other org in X-Org: not a member, so it does not exist.
        var intruder = api.ClientFor(auditor.Id, other.Slug);
        await Problem.ReadAsync(await intruder.GetAsync($"/api/v1/backups/{theirs}/download"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await intruder.GetAsync("/api/v1/backups"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await intruder.GetAsync("/api/v1/backups/access-log"), HttpStatusCode.NotFound);
        // A client bound to my org naming the other one is refused.
        await Problem.ReadAsync(await api.ClientFor(auditor.Id, other.Slug, orgClaim: mine.Id, role: "auditor").GetAsync("/api/v1/backups"),
            HttpStatusCode.Forbidden);

        (await api.ClientFor(otherOwner.Id, other.Slug).GetFromJsonAsync<JsonElement>("/api/v1/backups/access-log")).GetProperty("items")
            .GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task The_access_log_is_append_only_in_the_database()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        (await api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/backups")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var update = await Should.ThrowAsync<PostgresException>(() => TestDatabaseServers.ExecuteAsync(
            TestDatabaseServers.Primary, $"UPDATE backup_access_log SET user_id = NULL WHERE organization_id = '{organization.Id}'",
            platform.CatalogDatabase));
        update.MessageText.ShouldContain("append-only");
        await Should.ThrowAsync<PostgresException>(() => TestDatabaseServers.ExecuteAsync(
            TestDatabaseServers.Primary, $"DELETE FROM backup_access_log WHERE organization_id = '{organization.Id}'",
            platform.CatalogDatabase));
        await Should.ThrowAsync<PostgresException>(
            () => TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, "TRUNCATE backup_access_log", platform.CatalogDatabase));
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM backup_access_log WHERE organization_id = $1 AND user_id = $2", organization.Id, owner.Id))
            .ShouldBe(1);
    }

    [Fact]
    public async Task An_auditor_gets_403_on_crm_and_member_endpoints_and_an_admin_member_gets_403_on_backups()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var auditor = await platform.CreateUserAsync();
        var orgAdmin = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(
            members: [(owner, OrgRole.Owner), (auditor, OrgRole.Auditor), (orgAdmin, OrgRole.Admin)], serverId: platform.PrimaryServer.Id);
        var company =
            await OrgScopedEndpoints.CreateAsync(api.ClientFor(owner.Id, organization.Slug), "companies", new { name = "Secret" });
        var client = api.ClientFor(auditor.Id, organization.Slug);

        await Problem.ReadAsync(await client.GetAsync("/api/v1/companies"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies/{company}"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await client.GetAsync("/api/v1/contacts"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await client.PostAsJsonAsync("/api/v1/contacts", new { firstName = "Nope" }), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await client.GetAsync("/api/v1/pipelines"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await client.GetAsync("/api/v1/members"), HttpStatusCode.Forbidden);
        (await client.GetAsync("/api/v1/backups")).StatusCode.ShouldBe(HttpStatusCode.OK);

        await Problem.ReadAsync(await api.ClientFor(orgAdmin.Id, organization.Slug).GetAsync("/api/v1/backups"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Bad_input_to_backup_endpoints_is_a_problem_naming_the_field()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var admin = AdminClient(api);
        var client = api.ClientFor(owner.Id, organization.Slug);
        var backupId = (await BackUpAsync(platform, admin, organization.Id)).GetProperty("id").GetGuid();

        (await Problem.ReadAsync(await client.GetAsync("/api/v1/backups?limit=0"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/backups?cursor=garbage"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/backups/access-log?cursor=-5"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        await Problem.ReadAsync(await client.GetAsync($"/api/v1/backups/{Guid.NewGuid()}/download"), HttpStatusCode.NotFound);

        (await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore", new { mode = "sideways" }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("mode");
        (await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore", new { }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("mode");
        (await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore",
            new { mode = "switch", databaseServerId = Guid.NewGuid() }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("databaseServerId");
        await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore",
            new { mode = "switch", surprise = 1 }), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{Guid.NewGuid()}/restore", new { mode = "switch" }),
            HttpStatusCode.NotFound);
        (await Problem.ReadAsync(await admin.GetAsync("/api/v1/admin/backups?status=bogus"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("status");
        await Problem.ReadAsync(await admin.GetAsync("/api/v1/admin/backups?orgId=not-a-uuid"), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/backups", null),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await admin.GetAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/backup-access-log"),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/restores/{Guid.NewGuid()}/confirm", null), HttpStatusCode.NotFound);

        var pending = await platform.CreateOrganizationAsync(provision: false);
        await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/organizations/{pending.Id}/backups", null), HttpStatusCode.Conflict);

        var filtered = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/backups?orgId={organization.Id}&status=succeeded");
        filtered.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetGuid()).ShouldBe([backupId]);
    }
}
