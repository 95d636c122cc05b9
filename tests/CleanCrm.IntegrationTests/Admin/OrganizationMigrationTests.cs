using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.IntegrationTests.Admin;

/// <summary>
/// Migrating one organization, the fleet migration's safety backup and the list of recent runs, through the real API
/// and the real worker (docs/OPERATIONS.md, "Fleet migrations"); and the fleet overview.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class OrganizationMigrationTests(AdminPlatform platform) : IAsyncLifetime
{
    private const string Older = "20200101000000_Older";

    public async Task InitializeAsync()
    {
        await platform.ReadyAsync();
        await platform.WorkerAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Migrating_one_organization_brings_it_to_the_head_and_leaves_the_others_alone()
    {
        // Catalog behind, database already at the head: the migrator applies nothing and records the head (cheap, real).
        var target = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var bystander = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await SetSchemaAsync(target.Id, Older);
        await SetSchemaAsync(bystander.Id, Older);
        var admin = platform.AdminClient();
        (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/organizations/{target.Id}")).GetProperty("schemaBehind")
            .GetBoolean().ShouldBeTrue();

        var response = await admin.PostAsync($"/api/v1/admin/organizations/{target.Id}/migrate", null);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var job = await response.Content.ReadFromJsonAsync<JsonElement>();
        var jobId = job.GetProperty("jobId").GetString()!;
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/admin/migrations/{jobId}");
        job.GetProperty("organizationId").GetGuid().ShouldBe(target.Id);

        var finished = await WaitForJobAsync(admin, jobId);
        finished.GetProperty("state").GetString().ShouldBe("succeeded", finished.ToString());
        var report = finished.GetProperty("report").GetString()!;
        report.ShouldContain(target.Slug);
        report.ShouldNotContain(bystander.Slug, customMessage: "only the one organization is considered");
        (await SchemaAsync(target.Id)).ShouldBe(TenantMigrations.LatestVersion);
        (await SchemaAsync(bystander.Id)).ShouldBe(Older);
        (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/organizations/{target.Id}")).GetProperty("schemaBehind")
            .GetBoolean().ShouldBeFalse();

        var recent = await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/migrations");
        var listed = recent.GetProperty("items").EnumerateArray().First();
        listed.GetProperty("jobId").GetString().ShouldBe(jobId, "newest first");
        listed.GetProperty("organizationId").GetGuid().ShouldBe(target.Id);
        listed.GetProperty("state").GetString().ShouldBe("succeeded");
        listed.GetProperty("createdAt").ValueKind.ShouldBe(JsonValueKind.String);
    }

    [Fact]
    public async Task Organizations_whose_status_or_schema_does_not_allow_it_are_not_migrated()
    {
        var admin = platform.AdminClient();
        var before = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/migrations?limit=100"))
            .GetProperty("items").GetArrayLength();
        var pending = await platform.CreateOrganizationAsync(provision: false);
        var current = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var deleting = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await SetSchemaAsync(deleting.Id, Older);
        await platform.SetStatusAsync(deleting.Id, OrganizationStatus.Deleting);

        Task<HttpResponseMessage> Migrate(Guid id) => admin.PostAsync($"/api/v1/admin/organizations/{id}/migrate", null);
        (await Problem.ReadAsync(await Migrate(pending.Id), HttpStatusCode.Conflict)).Detail.ShouldContain("pending");
        (await Problem.ReadAsync(await Migrate(deleting.Id), HttpStatusCode.Conflict)).Detail.ShouldContain("deleting");
        (await Problem.ReadAsync(await Migrate(current.Id), HttpStatusCode.Conflict)).Detail.ShouldContain("already at the head");
        await Problem.ReadAsync(await Migrate(Guid.NewGuid()), HttpStatusCode.NotFound);
        await Problem.ReadAsync(
            await platform.UserClient().PostAsync($"/api/v1/admin/organizations/{deleting.Id}/migrate", null), HttpStatusCode.Forbidden);

        (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/migrations?limit=100")).GetProperty("items").GetArrayLength()
            .ShouldBe(before, "nothing was queued");
        (await SchemaAsync(deleting.Id)).ShouldBe(Older);
        (await Problem.ReadAsync(await admin.GetAsync("/api/v1/admin/migrations?limit=0"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        await Problem.ReadAsync(await platform.UserClient().GetAsync("/api/v1/admin/migrations"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_fleet_migration_with_a_safety_backup_backs_up_each_tenant_before_migrating_it()
    {
        var stale = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await SetSchemaAsync(stale.Id, TenantMigrations.AllVersions[^2]);
        var admin = platform.AdminClient();
        (await Problem.ReadAsync(await admin.PostAsJsonAsync("/api/v1/admin/migrations", new { safetyBackup = "yes" }),
            HttpStatusCode.BadRequest)).Code.ShouldBe("bad_request");

        var response = await admin.PostAsJsonAsync("/api/v1/admin/migrations", new { safetyBackup = true });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString()!;
        var finished = await WaitForJobAsync(admin, jobId);
        finished.GetProperty("state").GetString().ShouldBe("succeeded", finished.ToString());
        finished.GetProperty("safetyBackup").GetBoolean().ShouldBeTrue();

        await using var db = await platform.CatalogAsync();
        var backup = await db.Backups.AsNoTracking().SingleAsync(b => b.OrganizationId == stale.Id);
        backup.Trigger.ShouldBe(BackupTrigger.PreMigration);
        backup.Status.ShouldBe(BackupStatus.Succeeded, backup.Error);
        (await SchemaAsync(stale.Id)).ShouldBe(TenantMigrations.LatestVersion);
    }

    [Fact]
    public async Task The_overview_counts_the_fleet_as_the_catalog_has_it()
    {
        var failed = await platform.CreateOrganizationAsync(provision: false);
        await platform.SetStatusAsync(failed.Id, OrganizationStatus.Failed);
        var behind = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await SetSchemaAsync(behind.Id, Older);
        await using var db = await platform.CatalogAsync();
        var run = ProvisioningRun.For(failed.Id, DateTimeOffset.UtcNow.AddMinutes(-1));
        run.Status = ProvisioningStatus.Failed;
        run.FinishedAt = DateTimeOffset.UtcNow;
        db.ProvisioningRuns.Add(run);
        await db.SaveChangesAsync();

        var overview = await platform.AdminClient().GetFromJsonAsync<JsonElement>("/api/v1/admin/overview");

        var byStatus = overview.GetProperty("byStatus").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        byStatus.Keys.ShouldBe(Enum.GetValues<OrganizationStatus>().Select(s => s.ToString().ToLowerInvariant()), ignoreOrder: true);
        foreach (var status in Enum.GetValues<OrganizationStatus>())
        {
            byStatus[status.ToString().ToLowerInvariant()]
                .ShouldBe(await db.Organizations.CountAsync(o => o.Status == status), $"{status}");
        }

        var since = DateTimeOffset.UtcNow.AddHours(-24);
        overview.GetProperty("signupsLast24h").GetInt32().ShouldBe(await db.Organizations.CountAsync(o => o.CreatedAt >= since));
        overview.GetProperty("provisioningFailuresLast24h").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        overview.GetProperty("provisioningFailuresLast24h").GetInt32()
            .ShouldBe(await db.ProvisioningRuns.CountAsync(r => r.Status == ProvisioningStatus.Failed));
        var head = TenantMigrations.LatestVersion;
        overview.GetProperty("schemaHead").GetString().ShouldBe(head);
        overview.GetProperty("schemaBehind").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        overview.GetProperty("schemaBehind").GetInt32().ShouldBe(await db.Organizations.CountAsync(o =>
            (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.SchemaVersion != head));
        var primary = overview.GetProperty("servers").EnumerateArray()
            .Single(s => s.GetProperty("id").GetGuid() == platform.PrimaryServer.Id);
        primary.GetProperty("tenants").GetInt32().ShouldBe(await db.Organizations.CountAsync(o =>
            o.DatabaseServerId == platform.PrimaryServer.Id && o.Status != OrganizationStatus.Deleted));
        await Problem.ReadAsync(await platform.UserClient().GetAsync("/api/v1/admin/overview"), HttpStatusCode.Forbidden);
    }

    private static async Task<JsonElement> WaitForJobAsync(HttpClient admin, string jobId)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var status = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/migrations/{jobId}");
            if (status.GetProperty("state").GetString() is not ("enqueued" or "processing" or "scheduled"))
            {
                return status;
            }

            watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(90), status.ToString());
            await Task.Delay(100);
        }
    }

    private async Task SetSchemaAsync(Guid organizationId, string? version)
    {
        await using var db = await platform.CatalogAsync();
        await db.Organizations.Where(o => o.Id == organizationId).ExecuteUpdateAsync(s => s.SetProperty(o => o.SchemaVersion, version));
    }

    private async Task<string?> SchemaAsync(Guid organizationId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.Organizations.Where(o => o.Id == organizationId).Select(o => o.SchemaVersion).SingleAsync();
    }
}
