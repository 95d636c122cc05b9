using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static CleanCrm.IntegrationTests.Backups.BackupTestSupport;

namespace CleanCrm.IntegrationTests.Backups;

/// <summary>Real pg_dump/pg_restore: backups, verified restores (side by side and switch), corruption, retention, final backups.</summary>
[Collection(PlatformCollection.Name)]
public sealed class BackupRestoreTests(SharedPlatform platform)
{
    private Task<ApiFactory> ApiAsync() => platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));

    [Fact]
    public async Task Side_by_side_restore_holds_exactly_the_backup_time_data_verified_by_the_recorded_hashes()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var client = api.ClientFor(owner.Id, organization.Slug);
        var acme = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Acme" });
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Globex" });
        await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Ada", lastName = "Lovelace" });
        var admin = AdminClient(api);

        var backup = await BackUpAsync(platform, admin, organization.Id);
        backup.GetProperty("status").GetString().ShouldBe("succeeded");
        backup.GetProperty("trigger").GetString().ShouldBe("manual");
        backup.GetProperty("sha256").GetString()!.Length.ShouldBe(64);
        backup.GetProperty("sizeBytes").GetInt64().ShouldBeGreaterThan(0);
        backup.GetProperty("schemaVersion").GetString().ShouldBe(organization.SchemaVersion);
        var tables = backup.GetProperty("tables").EnumerateArray()
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("rowCount").GetInt64());
        tables["companies"].ShouldBe(2);
        tables["contacts"].ShouldBe(1);

        // Life goes on after the backup.
        (await client.PatchAsync($"/api/v1/companies/{acme}", JsonContent.Create(new { name = "Acme Renamed" })))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Initech" });

        var restore = await RestoreAsync(admin, backup.GetProperty("id").GetGuid());
        restore.Status.ShouldBe(RestoreStatus.Verified, restore.Error);
        var restoreId = restore.Id;

        var scratch = BackupRestore.ScratchDatabaseName(restoreId);
        (await CompanyNamesAsync(scratch)).ShouldBe(["Acme", "Globex"]);
        (await CompanyNamesAsync(organization.DatabaseName)).ShouldBe(["Acme Renamed", "Globex", "Initech"]);
        (await TestDatabaseServers.ScalarAsync<bool>(TestDatabaseServers.Primary, scratch,
            "SELECT has_table_privilege($1, 'public.companies', 'SELECT')", organization.DatabaseRole))
            .ShouldBeTrue("the restored database gets the tenant role's grants");
        (await TestDatabaseServers.ScalarAsync<bool>(TestDatabaseServers.Primary, "postgres",
            "SELECT has_database_privilege('public', $1, 'CONNECT')", scratch))
            .ShouldBeFalse("CONNECT stays revoked from PUBLIC");

        var status = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/restores/{restoreId}");
        status.GetProperty("status").GetString().ShouldBe("verified");
        status.GetProperty("mode").GetString().ShouldBe("side_by_side");
        var confirmed = await admin.PostAsync($"/api/v1/admin/restores/{restoreId}/confirm", null);
        confirmed.StatusCode.ShouldBe(HttpStatusCode.OK, await confirmed.Content.ReadAsStringAsync());
        (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().ShouldBe("confirmed");
        (await DatabaseExistsAsync(scratch)).ShouldBeFalse();
        (await CompanyNamesAsync(organization.DatabaseName))
            .Count.ShouldBe(3, "confirming a side-by-side restore leaves the live database alone");
    }

    [Fact]
    public async Task Fingerprints_change_with_any_row_and_backups_fingerprinted_with_md5_are_still_verified_with_md5()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var client = api.ClientFor(owner.Id, organization.Slug);
        var acme = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Acme" });
        await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Ada", lastName = "Lovelace" });
        var admin = AdminClient(api);

        var backup = await BackUpAsync(platform, admin, organization.Id);
        var backupId = backup.GetProperty("id").GetGuid();
        backup.GetProperty("fingerprintAlgorithm").GetString().ShouldBe("sum128");
        var recorded = backup.GetProperty("tables").EnumerateArray()
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("contentHash").GetString()!);
        recorded.Values.ShouldAllBe(hash => System.Text.RegularExpressions.Regex.IsMatch(hash, "^[0-9a-f]{32}$"));

        // Recomputed on the unchanged database: the same; the md5 form of the same rows, for the legacy record below.
        await using var connection =
            new Npgsql.NpgsqlConnection(TestDatabaseServers.ConnectionString(TestDatabaseServers.Primary, organization.DatabaseName));
        await connection.OpenAsync();
        await TenantDatabaseProvisioner.ExecuteAsync(connection, TableFingerprints.StableOutputSettings, CancellationToken.None);
        (await TableFingerprints.ComputeAsync(connection, FingerprintAlgorithm.Sum128, CancellationToken.None))
            .ToDictionary(t => t.TableName, t => t.ContentHash).ShouldBe(recorded);
        var md5 = await TableFingerprints.ComputeAsync(connection, FingerprintAlgorithm.Md5, CancellationToken.None);

        // One changed value changes that table's hash and no other.
        (await client.PatchAsync($"/api/v1/companies/{acme}", JsonContent.Create(new { name = "Acme Renamed" })))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var after = (await TableFingerprints.ComputeAsync(connection, FingerprintAlgorithm.Sum128, CancellationToken.None))
            .ToDictionary(t => t.TableName, t => t.ContentHash);
        after["companies"].ShouldNotBe(recorded["companies"]);
        after["contacts"].ShouldBe(recorded["contacts"]);

        // The same backup recorded the md5 way (as backups before sum128 were): its restore is verified with md5.
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE backups SET fingerprint_algorithm = 'md5' WHERE id = '{backupId}'; " +
            string.Concat(md5.Select(t => $"UPDATE backup_tables SET content_hash = '{t.ContentHash}' " +
                $"WHERE backup_id = '{backupId}' AND table_name = '{t.TableName}'; ")),
            platform.CatalogDatabase);
        var verified = await RestoreAsync(admin, backupId);
        verified.Status.ShouldBe(RestoreStatus.Verified, verified.Error);
        (await admin.PostAsync($"/api/v1/admin/restores/{verified.Id}/confirm", null))
            .StatusCode.ShouldBe(HttpStatusCode.OK, "confirming drops the side-by-side copy");
        (await DatabaseExistsAsync(BackupRestore.ScratchDatabaseName(verified.Id))).ShouldBeFalse();

        // A recorded hash that does not match the restored rows fails the restore, naming the table.
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE backup_tables SET content_hash = '{new string('0', 32)}' WHERE backup_id = '{backupId}' AND table_name = 'contacts'",
            platform.CatalogDatabase);
        var refused = await RestoreAsync(admin, backupId);
        refused.Status.ShouldBe(RestoreStatus.Failed);
        refused.Error!.ShouldContain("contacts: content hash differs");
    }

    private async Task<BackupRestore> RestoreAsync(HttpClient admin, Guid backupId)
    {
        var requested = await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore", new { mode = "side_by_side" });
        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted, await requested.Content.ReadAsStringAsync());
        var restoreId = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await platform.Services.GetRequiredService<TenantRestorer>().RunAsync(restoreId, CancellationToken.None);
    }

    [Fact]
    public async Task Switch_restore_points_the_organization_at_the_backup_and_keeps_the_old_database_until_confirmed()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var client = api.ClientFor(owner.Id, organization.Slug);
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Before" });
        var admin = AdminClient(api);
        var backupId = (await BackUpAsync(platform, admin, organization.Id)).GetProperty("id").GetGuid();
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "After the backup" });

        var requested = await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore",
            new { mode = "switch", databaseServerId = platform.PrimaryServer.Id });
        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted, await requested.Content.ReadAsStringAsync());
        var restoreId = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore", new { mode = "switch" }),
            HttpStatusCode.Conflict);
        var restore = await platform.Services.GetRequiredService<TenantRestorer>().RunAsync(restoreId, CancellationToken.None);
        restore.Status.ShouldBe(RestoreStatus.Switched, restore.Error);
        restore.DatabaseName.ShouldBe(organization.DatabaseName);

        var afterSwitch = await client.GetAsync("/api/v1/companies");
        afterSwitch.StatusCode.ShouldBe(HttpStatusCode.OK, await afterSwitch.Content.ReadAsStringAsync());
        var listed = await afterSwitch.Content.ReadFromJsonAsync<JsonElement>();
        listed.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ShouldBe(["Before"]);
        (await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Written after the switch" })).ShouldNotBe(Guid.Empty);

        var retired = BackupRestore.RetiredDatabaseName(restoreId);
        (await CompanyNamesAsync(retired)).ShouldBe(["After the backup", "Before"]);
        (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organization.Id)).ShouldBe("active");

        (await admin.PostAsync($"/api/v1/admin/restores/{restoreId}/confirm", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await DatabaseExistsAsync(retired)).ShouldBeFalse();
        (await DatabaseExistsAsync(organization.DatabaseName)).ShouldBeTrue();
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/companies")).GetProperty("items").GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task A_corrupted_file_fails_verification_and_the_restore_refuses_it()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var auditor = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (auditor, OrgRole.Auditor)],
            serverId: platform.PrimaryServer.Id);
        await OrgScopedEndpoints.CreateAsync(api.ClientFor(owner.Id, organization.Slug), "companies", new { name = "Fragile" });
        var admin = AdminClient(api);
        var backup = await BackUpAsync(platform, admin, organization.Id);
        var backupId = backup.GetProperty("id").GetGuid();
        var auditorClient = api.ClientFor(auditor.Id, organization.Slug);

        var intact = await (await auditorClient.PostAsync($"/api/v1/backups/{backupId}/verify", null))
            .Content.ReadFromJsonAsync<JsonElement>();
        intact.GetProperty("valid").GetBoolean().ShouldBeTrue();

        var path = platform.Services.GetRequiredService<FileSystemBackupStore>().PathOf(backup.GetProperty("location").GetString()!);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);

        var verify = await auditorClient.PostAsync($"/api/v1/backups/{backupId}/verify", null);
        verify.StatusCode.ShouldBe(HttpStatusCode.OK);
        var result = await verify.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("actualSha256").GetString().ShouldNotBe(backup.GetProperty("sha256").GetString());
        result.GetProperty("detail").GetString()!.ShouldContain("checksum mismatch");

        var requested = await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore", new { mode = "side_by_side" });
        var restoreId = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var restore = await platform.Services.GetRequiredService<TenantRestorer>().RunAsync(restoreId, CancellationToken.None);
        restore.Status.ShouldBe(RestoreStatus.Failed);
        restore.Error!.ShouldContain("checksum mismatch");
        (await DatabaseExistsAsync(BackupRestore.ScratchDatabaseName(restoreId)))
            .ShouldBeFalse("nothing is restored from a file that fails its checksum");
        var status = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/restores/{restoreId}");
        status.GetProperty("status").GetString().ShouldBe("failed");
        status.GetProperty("error").GetString()!.ShouldContain("refusing to restore");
        await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/restores/{restoreId}/confirm", null), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Pruning_removes_backups_past_the_plan_retention_but_keeps_the_newest()
    {
        var api = await ApiAsync();
        var admin = AdminClient(api);
        var free = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id, plan: Plan.Free);
        var pro = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id, plan: Plan.Pro);
        var freeOld = (await BackUpAsync(platform, admin, free.Id)).GetProperty("id").GetGuid();
        var freeOlder = (await BackUpAsync(platform, admin, free.Id)).GetProperty("id").GetGuid();
        var freeNew = (await BackUpAsync(platform, admin, free.Id)).GetProperty("id").GetGuid();
        var proOld = (await BackUpAsync(platform, admin, pro.Id)).GetProperty("id").GetGuid();
        var proOnly = (await BackUpAsync(platform, admin, pro.Id)).GetProperty("id").GetGuid();
        await AgeAsync(freeOld, days: 8);
        await AgeAsync(freeOlder, days: 9);
        await AgeAsync(freeNew, days: 6);
        await AgeAsync(proOld, days: 31);
        await AgeAsync(proOnly, days: 29);
        var files = new Dictionary<Guid, string>();
        await using (var db = await platform.CatalogAsync())
        {
            foreach (var backup in await db.Backups.AsNoTracking().Where(b => b.OrganizationId == free.Id || b.OrganizationId == pro.Id)
                .ToListAsync())
            {
                files[backup.Id] = platform.Services.GetRequiredService<FileSystemBackupStore>().PathOf(backup.Location!);
            }
        }

        await platform.Services.GetRequiredService<BackupPruner>().RunAsync(CancellationToken.None);

        await using var check = await platform.CatalogAsync();
        var statuses = await check.Backups.AsNoTracking().Where(b => files.Keys.Contains(b.Id)).ToDictionaryAsync(b => b.Id, b => b.Status);
        statuses[freeOld].ShouldBe(BackupStatus.Pruned, "free keeps 7 days");
        statuses[freeOlder].ShouldBe(BackupStatus.Pruned);
        statuses[freeNew].ShouldBe(BackupStatus.Succeeded);
        statuses[proOld].ShouldBe(BackupStatus.Pruned, "pro keeps 30 days");
        statuses[proOnly].ShouldBe(BackupStatus.Succeeded);
        File.Exists(files[freeOld]).ShouldBeFalse();
        File.Exists(files[proOld]).ShouldBeFalse();
        File.Exists(files[freeNew]).ShouldBeTrue();

        // The newest backup of a live organization is kept even when it is past retention.
        await AgeAsync(freeNew, days: 100);
        await platform.Services.GetRequiredService<BackupPruner>().RunAsync(CancellationToken.None);
        (await check.Backups.AsNoTracking().SingleAsync(b => b.Id == freeNew)).Status.ShouldBe(BackupStatus.Succeeded);
    }

    [Fact]
    public async Task Deleting_an_organization_takes_a_final_backup_before_dropping_the_database()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        await OrgScopedEndpoints.CreateAsync(api.ClientFor(owner.Id, organization.Slug), "companies", new { name = "Last words" });
        var admin = AdminClient(api);
        (await admin.DeleteAsync($"/api/v1/admin/organizations/{organization.Id}")).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        await platform.Services.GetRequiredService<OrganizationDeletionJob>().RunAsync(organization.Id, CancellationToken.None);

        (await DatabaseExistsAsync(organization.DatabaseName)).ShouldBeFalse();
        await using var db = await platform.CatalogAsync();
        var final = await db.Backups.AsNoTracking().Include(b => b.Tables).SingleAsync(b => b.OrganizationId == organization.Id);
        final.Trigger.ShouldBe(BackupTrigger.PreDelete);
        final.Status.ShouldBe(BackupStatus.Succeeded);
        final.Tables.Single(t => t.TableName == "companies").RowCount.ShouldBe(1);
        File.Exists(platform.Services.GetRequiredService<FileSystemBackupStore>().PathOf(final.Location!)).ShouldBeTrue();

        // And the final backup restores: side by side on the server the organization lived on.
        var requested = await admin.PostAsJsonAsync($"/api/v1/admin/backups/{final.Id}/restore",
            new { mode = "side_by_side", databaseServerId = platform.PrimaryServer.Id });
        var restoreId = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await platform.Services.GetRequiredService<TenantRestorer>().RunAsync(restoreId, CancellationToken.None))
            .Status.ShouldBe(RestoreStatus.Verified);
        (await CompanyNamesAsync(BackupRestore.ScratchDatabaseName(restoreId))).ShouldBe(["Last words"]);
        (await admin.PostAsync($"/api/v1/admin/restores/{restoreId}/confirm", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    /// <summary>
    /// Found by the fault suite (docs/reliability.md, scenario 1, restore): a worker killed during a restore left it
    /// <c>running</c> for ever (the redelivered job did nothing) with its half-restored scratch database behind.
    /// </summary>
    [Fact]
    public async Task A_restore_abandoned_by_a_dead_worker_starts_over_on_the_next_delivery_and_a_live_one_is_left_alone()
    {
        var api = await ApiAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var client = api.ClientFor(owner.Id, organization.Slug);
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Backed up" });
        var admin = AdminClient(api);
        var backupId = (await BackUpAsync(platform, admin, organization.Id)).GetProperty("id").GetGuid();
        var requested = await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backupId}/restore", new { mode = "side_by_side" });
        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted, await requested.Content.ReadAsStringAsync());
        var restoreId = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // What the killed worker left: the restore running, its scratch database half-filled by pg_restore.
        var scratch = BackupRestore.ScratchDatabaseName(restoreId);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE backup_restores SET status = 'running', started_at = now() - interval '6 minutes' WHERE id = '{restoreId}'",
            platform.CatalogDatabase);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"CREATE DATABASE {scratch}");
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, "CREATE TABLE half_restored (id int)", scratch);
        var restorer = platform.Services.GetRequiredService<TenantRestorer>();

        // While a live run holds the restore, another delivery leaves it alone.
        await using (var live = await RestoreRunLock.TryAcquireAsync(platform.CatalogConnectionString, restoreId, CancellationToken.None))
        {
            live.ShouldNotBeNull();
            (await restorer.RunAsync(restoreId, CancellationToken.None)).Status.ShouldBe(RestoreStatus.Running);
            (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, scratch,
                "SELECT count(*) FROM pg_tables WHERE tablename = 'half_restored'")).ShouldBe(1);
        }

        // Nobody holds it: the delivery starts over from the stored file and verifies every table.
        var restore = await restorer.RunAsync(restoreId, CancellationToken.None);
        restore.Status.ShouldBe(RestoreStatus.Verified, restore.Error);
        (await CompanyNamesAsync(scratch)).ShouldBe(["Backed up"]);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, scratch,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'half_restored'")).ShouldBe(0);
        (await restorer.RunAsync(restoreId, CancellationToken.None)).Status.ShouldBe(RestoreStatus.Verified);
        (await admin.PostAsync($"/api/v1/admin/restores/{restoreId}/confirm", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await DatabaseExistsAsync(scratch)).ShouldBeFalse();
    }

    [Fact]
    public async Task Backup_slots_limit_concurrent_backups_across_processes()
    {
        await using var first =
            await BackupSlot.AcquireAsync(platform.CatalogConnectionString, 1, TimeSpan.FromSeconds(1), CancellationToken.None);
        first.ShouldNotBeNull();
        (await BackupSlot.AcquireAsync(platform.CatalogConnectionString, 1, TimeSpan.FromMilliseconds(300), CancellationToken.None))
            .ShouldBeNull("the only slot is taken");
        await using (var second = await BackupSlot.AcquireAsync(platform.CatalogConnectionString, 2, TimeSpan.FromSeconds(1),
            CancellationToken.None))
        {
            second.ShouldNotBeNull("a second slot exists when the limit is 2");
        }

        await first.DisposeAsync();
        await using var again =
            await BackupSlot.AcquireAsync(platform.CatalogConnectionString, 1, TimeSpan.FromSeconds(1), CancellationToken.None);
        again.ShouldNotBeNull("a released slot is free again");
    }

    [Fact]
    public async Task The_schedule_queues_each_organization_once_in_the_hour_of_its_offset()
    {
        var api = await ApiAsync();
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var offset = BackupScheduleJob.DailyOffsetMinutes(organization.Id);
        var day = DateTimeOffset.UtcNow.Date;
        var hour = new DateTimeOffset(day, TimeSpan.Zero).AddHours(offset / 60);
        var job = api.Services.GetRequiredService<BackupScheduleJob>();

        await job.QueueHourAsync(hour.AddHours(1), CancellationToken.None);
        await using (var db = await platform.CatalogAsync())
        {
            (await db.Backups.CountAsync(b => b.OrganizationId == organization.Id)).ShouldBe(0, "not its hour");
        }

        await job.QueueHourAsync(hour, CancellationToken.None);
        await job.QueueHourAsync(hour, CancellationToken.None);
        await using var check = await platform.CatalogAsync();
        var queued = await check.Backups.AsNoTracking().Where(b => b.OrganizationId == organization.Id).ToListAsync();
        queued.Count.ShouldBe(1, "queued once even when the schedule runs twice");
        queued[0].Trigger.ShouldBe(BackupTrigger.Scheduled);
        queued[0].Status.ShouldBe(BackupStatus.Queued);
    }

    private async Task AgeAsync(Guid backupId, int days) =>
        await TestDatabaseServers.ExecuteAsync(
            TestDatabaseServers.Primary,
            $"UPDATE backups SET finished_at = now() - interval '{days} days', queued_at = now() - interval '{days} days' WHERE id = " +
                $"'{backupId}'",
            platform.CatalogDatabase);
}
