using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.IntegrationTests.Api;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Backups;

/// <summary>A platform of its own, so the drill's sample is exactly the backups made here.</summary>
public sealed class DrillPlatform : PlatformEnvironment;

/// <summary>The <c>restore-drill</c> verb as an operator runs it: a real worker process against real backups.</summary>
public sealed class RestoreDrillTests(DrillPlatform platform) : IClassFixture<DrillPlatform>
{
    [Fact]
    public async Task Restore_drill_restores_verifies_and_drops_a_sample_and_reports_a_corrupted_backup()
    {
        var healthy = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var damaged = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var runner = platform.Services.GetRequiredService<TenantBackupRunner>();
        var good = await runner.BackupNowAsync(healthy.Id, BackupTrigger.Manual, CancellationToken.None);
        var bad = await runner.BackupNowAsync(damaged.Id, BackupTrigger.Manual, CancellationToken.None);
        good.Status.ShouldBe(BackupStatus.Succeeded, good.Error);
        bad.Status.ShouldBe(BackupStatus.Succeeded, bad.Error);
        var path = platform.Services.GetRequiredService<FileSystemBackupStore>().PathOf(bad.Location!);
        await File.WriteAllBytesAsync(path, (await File.ReadAllBytesAsync(path))[..^1]);

        long sampled;
        await using (var before = await platform.CatalogAsync())
        {
            // Other tests of this class may have left succeeded backups too; the drill samples each org's newest.
            sampled = await before.Backups.Where(b => b.Status == BackupStatus.Succeeded).Select(b => b.OrganizationId).Distinct()
                .CountAsync();
        }

        var (exit, output) = await WorkerCliTests.RunAsync(["restore-drill", "--sample", "10", "--days", "1"], CliEnvironment());

        exit.ShouldBe(2, output);
        output.ShouldContain($"restore drill: {sampled - 1} verified, 1 failed");
        output.ShouldContain("checksum mismatch");
        await using var db = await platform.CatalogAsync();
        var restores = await db.BackupRestores.AsNoTracking().ToListAsync();
        restores.Single(r => r.BackupId == good.Id).Status.ShouldBe(RestoreStatus.Confirmed);
        restores.Single(r => r.BackupId == bad.Id).Status.ShouldBe(RestoreStatus.Failed);
        foreach (var restore in restores)
        {
            (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
                "SELECT count(*) FROM pg_database WHERE datname = $1", restore.DatabaseName))
                .ShouldBe(0, "drill copies are dropped");
        }

        var (badExit, badOutput) = await WorkerCliTests.RunAsync(["restore-drill", "--sample", "0"], CliEnvironment());
        badExit.ShouldNotBe(0);
        badOutput.ShouldContain("--sample must be between 1 and 1000");
    }

    [Fact]
    public async Task Fleet_backup_queues_every_live_organization_and_a_failed_backup_shows_its_reason()
    {
        using var api = new ApiFactory(platform);
        var admin = BackupTestSupport.AdminClient(api);
        var active = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var suspended = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await platform.SetStatusAsync(suspended.Id, OrganizationStatus.Suspended);
        var pending = await platform.CreateOrganizationAsync(provision: false);
        long expected;
        await using (var db = await platform.CatalogAsync())
        {
            expected = await db.Organizations.CountAsync(
                o => (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.DatabaseServerId != null);
        }

        var response = await admin.PostAsync("/api/v1/admin/backups", null);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queued").GetInt32().ShouldBe((int)expected);
        var queued = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/backups?status=queued&limit=200")).GetProperty("items")
            .EnumerateArray()
            .Select(b => b.GetProperty("organizationId").GetGuid()).ToList();
        queued.ShouldContain(active.Id);
        queued.ShouldContain(suspended.Id);
        queued.ShouldNotContain(pending.Id);

        // The job of the suspended org's backup runs against a database that has gone missing: failed, with the reason.
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE \"{suspended.DatabaseName}\" WITH (FORCE)");
        var failedId = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/backups?orgId={suspended.Id}")).GetProperty("items")[0]
            .GetProperty("id").GetGuid();
        var job = platform.Services.GetRequiredService<BackupJob>();
        (await Should.ThrowAsync<InvalidOperationException>(() => job.RunAsync(failedId, CancellationToken.None)))
            .Message.ShouldContain("failed");
        var failed = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/backups?orgId={suspended.Id}&status=failed"))
            .GetProperty("items").EnumerateArray().Single();
        failed.GetProperty("error").GetString()!.ShouldContain("does not exist");
        failed.GetProperty("location").ValueKind.ShouldBe(JsonValueKind.Null);

        var okId = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/backups?orgId={active.Id}")).GetProperty("items")[0]
            .GetProperty("id").GetGuid();
        await job.RunAsync(okId, CancellationToken.None);
        (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/backups/{okId}")).GetProperty("status").GetString()
            .ShouldBe("succeeded");
    }

    private Dictionary<string, string> CliEnvironment()
    {
        var environment = platform.Settings.Where(s => s.Value is not null)
            .ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        environment["DOTNET_ENVIRONMENT"] = "Production";
        return environment;
    }
}
