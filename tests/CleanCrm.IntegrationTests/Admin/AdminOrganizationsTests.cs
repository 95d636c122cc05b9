using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.IntegrationTests.Admin;

/// <summary>The platform admins' organization list and detail (docs/API.md, "Platform administration").</summary>
[Collection(PlatformCollection.Name)]
public sealed class AdminOrganizationsTests(AdminPlatform platform) : IAsyncLifetime
{
    private static readonly string[] SortFields =
        ["name", "slug", "plan", "status", "server", "schemaVersion", "databaseSize", "members", "lastBackupAt", "createdAt"];

    private static readonly string[] StatusOrder =
        ["pending", "provisioning", "failed", "active", "suspended", "moving", "deleting", "deleted"];

    public Task InitializeAsync() => platform.ReadyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Every_sort_pages_through_every_organization_once_in_a_stable_order()
    {
        var token = AdminPlatform.NewToken();
        var other = await platform.AddUnreachableServerAsync($"{token}-srv");
        var users = new[] { await platform.CreateUserAsync(), await platform.CreateUserAsync() };
        var now = DateTimeOffset.UtcNow;
        // Five organizations whose sortable values differ, tie and are missing, so every key and the id tie-break are exercised.
        var specs = new (string Suffix, string Plan, OrganizationStatus Status, Guid? Server, string? Schema, long? Size, int Members,
            double? BackupHoursAgo)[]
            {
                ("a", Plan.Pro, OrganizationStatus.Active, platform.PrimaryServer.Id, "20200101000000_A", 300, 2, 1),
                ("b", Plan.Free, OrganizationStatus.Suspended, other.Id, "20200101000000_B", 100, 0, null),
                ("c", Plan.Free, OrganizationStatus.Pending, null, null, null, 1, 5),
                ("d", Plan.Enterprise, OrganizationStatus.Failed, other.Id, "20200101000000_A", 100, 1, 5),
                ("e", Plan.Pro, OrganizationStatus.Active, platform.PrimaryServer.Id, null, 200, 2, null),
            };
        foreach (var spec in specs)
        {
            var organization = await platform.CreateOrganizationAsync(
                $"{token}-{spec.Suffix}",
                members: users.Take(spec.Members).Select(u => (u, OrgRole.Member)),
                serverId: spec.Server,
                provision: false,
                plan: spec.Plan);
            await using var db = await platform.CatalogAsync();
            await db.Organizations.Where(o => o.Id == organization.Id).ExecuteUpdateAsync(s => s
                .SetProperty(o => o.Status, spec.Status)
                .SetProperty(o => o.SchemaVersion, spec.Schema)
                .SetProperty(o => o.DatabaseSizeBytes, spec.Size));
            if (spec.BackupHoursAgo is { } hours)
            {
                db.Backups.Add(SucceededBackup(organization.Id, now.AddHours(-hours)));
                await db.SaveChangesAsync();
            }
        }

        var admin = platform.AdminClient();
        foreach (var field in SortFields)
        {
            foreach (var sort in new[] { field, "-" + field })
            {
                var all = await PageAsync(admin, $"q={token}&sort={sort}&limit=200");
                all.NextCursor.ShouldBeNull();
                all.Items.Count.ShouldBe(5, sort);
                AssertSorted(all.Items, field, sort.StartsWith('-'));

                var paged = new List<JsonElement>();
                string? cursor = null;
                var pages = 0;
                do
                {
                    var after = cursor is null ? string.Empty : $"&cursor={cursor}";
                    var page = await PageAsync(admin, $"q={token}&sort={sort}&limit=2{after}");
                    page.Items.Count.ShouldBeLessThanOrEqualTo(2);
                    paged.AddRange(page.Items);
                    cursor = page.NextCursor;
                    (++pages).ShouldBeLessThanOrEqualTo(3, sort);
                }
                while (cursor is not null);

                paged.Select(Id).ShouldBe(all.Items.Select(Id), $"pages of {sort} differ from one page");
                paged.Select(Id).Distinct().Count().ShouldBe(5);
            }
        }

        var first = (await PageAsync(admin, $"q={token}&sort=slug&limit=1")).Items.Single();
        first.GetProperty("slug").GetString().ShouldBe($"{token}-a");
        first.GetProperty("plan").GetString().ShouldBe("pro");
        first.GetProperty("status").GetString().ShouldBe("active");
        first.GetProperty("serverName").GetString().ShouldBe(platform.PrimaryServer.Name);
        first.GetProperty("members").GetInt32().ShouldBe(2);
        first.GetProperty("databaseSizeBytes").GetInt64().ShouldBe(300);
        first.GetProperty("schemaBehind").GetBoolean().ShouldBeTrue();
        first.GetProperty("lastBackupAt").GetDateTimeOffset().ShouldBe(now.AddHours(-1), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Every_filter_narrows_the_list_to_the_organizations_it_names()
    {
        var token = AdminPlatform.NewToken();
        var server = await platform.AddUnreachableServerAsync($"{token}-srv");
        var owner = await platform.CreateUserAsync($"boss-{token}@example.com");
        var head = TenantMigrations.LatestVersion;
        var now = DateTimeOffset.UtcNow;
        var fresh = await CreateAsync($"{token}-fresh", OrganizationStatus.Active, head, plan: Plan.Pro, owner: owner);
        var behind = await CreateAsync($"{token}-behind", OrganizationStatus.Suspended, "20200101000000_Old", server: server.Id);
        var failed = await CreateAsync($"{token}-failed", OrganizationStatus.Failed, null);
        var stale = await CreateAsync($"{token}-stale", OrganizationStatus.Active, head);
        var pending = await CreateAsync($"{token}-pending", OrganizationStatus.Pending, null);
        var deleted = await CreateAsync($"{token}-deleted", OrganizationStatus.Deleted, head);
        await using (var db = await platform.CatalogAsync())
        {
            db.Backups.Add(SucceededBackup(fresh, now.AddHours(-2)));
            db.Backups.Add(SucceededBackup(stale, now.AddHours(-30)));
            db.Backups.Add(new Backup { OrganizationId = pending, Status = BackupStatus.Failed, QueuedAt = now, Store = "filesystem" });
            await db.SaveChangesAsync();
        }

        var admin = platform.AdminClient();
        async Task<List<Guid>> Ids(string filter) =>
            [.. (await PageAsync(admin, $"q={token}&sort=slug&{filter}")).Items.Select(Id).Order()];
        List<Guid> Of(params Guid[] ids) => [.. ids.Order()];

        (await Ids("limit=50")).ShouldBe(Of(fresh, behind, failed, stale, pending), "deleted ones only when asked for");
        (await Ids("status=deleted")).ShouldBe(Of(deleted));
        (await Ids("status=suspended")).ShouldBe(Of(behind));
        (await Ids("plan=pro")).ShouldBe(Of(fresh));
        (await Ids($"server={server.Id}")).ShouldBe(Of(behind));
        (await Ids("schemaBehind=true")).ShouldBe(Of(behind));
        (await Ids("schemaBehind=false")).ShouldBe(Of(fresh, failed, stale, pending));
        (await Ids("failedProvisioning=true")).ShouldBe(Of(failed));
        (await Ids("failedProvisioning=false")).ShouldBe(Of(fresh, behind, stale, pending));
        (await Ids("backupOlderThanHours=26")).ShouldBe(Of(behind, failed, stale, pending));
        (await Ids("backupOlderThanHours=26&status=active")).ShouldBe(Of(stale));

        // q: name, slug or an owner's email, case-insensitively.
        (await PageAsync(admin, $"q=BOSS-{token.ToUpperInvariant()}")).Items.Select(Id).ShouldBe([fresh]);
        (await PageAsync(admin, $"q={token}-STALE")).Items.Select(Id).ShouldBe([stale]);
        (await PageAsync(admin, $"q=Org {token}-behind")).Items.Select(Id).ShouldBe([behind]);
        var item = (await PageAsync(admin, $"q=boss-{token}")).Items.Single();
        item.GetProperty("ownerEmail").GetString().ShouldBe($"boss-{token}@example.com");
        item.GetProperty("schemaBehind").GetBoolean().ShouldBeFalse();
    }

    [Theory]
    [InlineData("status=bogus", "status")]
    [InlineData("status=Active", "status")]
    [InlineData("plan=platinum", "plan")]
    [InlineData("server=0a8c6f0e-9d6b-4a43-9f55-8a7cbf0e5b11", "server")]
    [InlineData("sort=size", "sort")]
    [InlineData("sort=-bogus", "sort")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("backupOlderThanHours=0", "backupOlderThanHours")]
    public async Task Bad_filter_values_are_a_validation_problem(string query, string field)
    {
        var problem = await Problem.ReadAsync(
            await platform.AdminClient().GetAsync($"/api/v1/admin/organizations?{query}"), HttpStatusCode.BadRequest);
        problem.Code.ShouldBe("validation_failed");
        problem.Errors!.ShouldContainKey(field);
    }

    [Fact]
    public async Task A_cursor_of_another_sort_and_a_value_of_the_wrong_type_are_refused()
    {
        var token = AdminPlatform.NewToken();
        await CreateAsync($"{token}-a", OrganizationStatus.Active, null);
        await CreateAsync($"{token}-b", OrganizationStatus.Active, null);
        var admin = platform.AdminClient();
        var cursor = (await PageAsync(admin, $"q={token}&sort=name&limit=1")).NextCursor.ShouldNotBeNull();

        (await Problem.ReadAsync(await admin.GetAsync($"/api/v1/admin/organizations?q={token}&sort=-name&cursor={cursor}"),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("cursor");
        (await Problem.ReadAsync(await admin.GetAsync("/api/v1/admin/organizations?schemaBehind=maybe"), HttpStatusCode.BadRequest))
            .Code.ShouldBe("bad_request");
    }

    [Fact]
    public async Task Users_who_are_not_platform_admins_are_refused()
    {
        var organization = await CreateAsync($"{AdminPlatform.NewToken()}-x", OrganizationStatus.Active, null);
        var user = platform.UserClient();
        await Problem.ReadAsync(await user.GetAsync("/api/v1/admin/organizations"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await user.GetAsync($"/api/v1/admin/organizations/{organization}"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await platform.Api.CreateClient().GetAsync("/api/v1/admin/organizations"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_detail_shows_lifecycle_provisioning_members_backup_usage_features_and_limits()
    {
        var token = AdminPlatform.NewToken();
        var owner = await platform.CreateUserAsync($"owner-{token}@example.com", "Olive Owner");
        var member = await platform.CreateUserAsync($"member-{token}@example.com", "Max Member");
        var organization = await platform.CreateOrganizationAsync(
            $"{token}-live", [(owner, OrgRole.Owner), (member, OrgRole.Member)], platform.PrimaryServer.Id, plan: Plan.Free);
        var expires = DateTimeOffset.UtcNow.AddDays(3);
        await using (var db = await platform.CatalogAsync())
        {
            db.FeatureOverrides.Add(new FeatureOverride
            {
                OrganizationId = organization.Id,
                FeatureKey = PremiumFeatures.AiCopilot,
                Enabled = true,
                ExpiresAt = expires,
                UpdatedAt = DateTimeOffset.UtcNow,
            });
            db.LimitOverrides.Add(new LimitOverride { OrganizationId = organization.Id, Seats = 42, UpdatedAt = DateTimeOffset.UtcNow });
            db.Backups.Add(SucceededBackup(organization.Id, DateTimeOffset.UtcNow.AddMinutes(-5)));
            await db.SaveChangesAsync();
        }

        var detail = await platform.AdminClient().GetFromJsonAsync<JsonElement>($"/api/v1/admin/organizations/{organization.Id}");

        detail.GetProperty("slug").GetString().ShouldBe($"{token}-live");
        detail.GetProperty("status").GetString().ShouldBe("active");
        detail.GetProperty("serverId").GetGuid().ShouldBe(platform.PrimaryServer.Id);
        detail.GetProperty("databaseName").GetString().ShouldBe(organization.DatabaseName);
        detail.GetProperty("schemaVersion").GetString().ShouldBe(TenantMigrations.LatestVersion);
        detail.GetProperty("schemaHead").GetString().ShouldBe(TenantMigrations.LatestVersion);
        detail.GetProperty("schemaBehind").GetBoolean().ShouldBeFalse();
        detail.GetProperty("databaseSizeBytes").GetInt64().ShouldBeGreaterThan(0, "measured right after provisioning");
        detail.GetProperty("activatedAt").ValueKind.ShouldBe(JsonValueKind.String);
        detail.GetProperty("deletionScheduledAt").ValueKind.ShouldBe(JsonValueKind.Null);
        detail.GetProperty("ownerEmail").GetString().ShouldBe($"owner-{token}@example.com");
        detail.GetProperty("memberCount").GetInt32().ShouldBe(2);
        var members = detail.GetProperty("members").EnumerateArray().ToList();
        members.Select(m => (m.GetProperty("email").GetString(), m.GetProperty("name").GetString(), m.GetProperty("role").GetString()))
            .ShouldBe([($"owner-{token}@example.com", "Olive Owner", "owner"), ($"member-{token}@example.com", "Max Member", "member")]);

        var run = detail.GetProperty("provisioningRuns").EnumerateArray().Single();
        run.GetProperty("status").GetString().ShouldBe("succeeded");
        run.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()).ShouldBe(ProvisioningSteps.All);
        run.GetProperty("steps").EnumerateArray().ShouldAllBe(s => s.GetProperty("status").GetString() == "succeeded"
            && s.GetProperty("attempt").GetInt32() == 1);

        detail.GetProperty("lastBackup").GetProperty("status").GetString().ShouldBe("succeeded");
        detail.GetProperty("lastBackup").GetProperty("sizeBytes").GetInt64().ShouldBe(1234);
        detail.GetProperty("usage").GetProperty("seats").GetInt32().ShouldBe(2);

        var features = detail.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("key").GetString()!);
        features.Keys.ShouldBe(PremiumFeatures.All, ignoreOrder: true);
        var copilot = features[PremiumFeatures.AiCopilot];
        copilot.GetProperty("plan").GetBoolean().ShouldBeFalse();
        copilot.GetProperty("override").GetBoolean().ShouldBeTrue();
        copilot.GetProperty("effective").GetBoolean().ShouldBeTrue();
        copilot.GetProperty("overrideExpiresAt").GetDateTimeOffset().ShouldBe(expires, TimeSpan.FromMilliseconds(1));
        features[PremiumFeatures.Workflows].GetProperty("override").ValueKind.ShouldBe(JsonValueKind.Null);

        var limits = detail.GetProperty("limits").EnumerateArray().ToDictionary(l => l.GetProperty("key").GetString()!);
        limits.Keys.ShouldBe(["seats", "aiTokensPerMonth", "apiRequestsPer10Seconds", "backupRetentionDays"]);
        limits["seats"].GetProperty("override").GetInt64().ShouldBe(42);
        limits["seats"].GetProperty("effective").GetInt64().ShouldBe(42);
        limits["backupRetentionDays"].GetProperty("override").ValueKind.ShouldBe(JsonValueKind.Null);
        limits["backupRetentionDays"].GetProperty("effective").GetInt64()
            .ShouldBe(limits["backupRetentionDays"].GetProperty("plan").GetInt64());
    }

    [Fact]
    public async Task A_deleting_organization_shows_when_its_database_goes_and_an_unknown_id_is_not_found()
    {
        var organization = await CreateAsync($"{AdminPlatform.NewToken()}-bye", OrganizationStatus.Active, null);
        var admin = platform.AdminClient();
        (await admin.DeleteAsync($"/api/v1/admin/organizations/{organization}")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await using (var db = await platform.CatalogAsync())
        {
            var row = await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == organization);
            var detail = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/organizations/{organization}");
            detail.GetProperty("status").GetString().ShouldBe("deleting");
            detail.GetProperty("deletionScheduledAt").GetDateTimeOffset()
                .ShouldBe(row.UpdatedAt.AddMinutes(4_320), TimeSpan.FromMilliseconds(1), "the default grace period (3 days)");
        }

        (await Problem.ReadAsync(await admin.GetAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}"), HttpStatusCode.NotFound))
            .Code.ShouldBe("not_found");
    }

    internal static Backup SucceededBackup(Guid organizationId, DateTimeOffset finishedAt) => new()
    {
        OrganizationId = organizationId,
        Status = BackupStatus.Succeeded,
        Trigger = BackupTrigger.Manual,
        Store = "filesystem",
        SizeBytes = 1234,
        QueuedAt = finishedAt.AddMinutes(-1),
        StartedAt = finishedAt.AddMinutes(-1),
        FinishedAt = finishedAt,
    };

    internal static async Task<(List<JsonElement> Items, string? NextCursor)> PageAsync(HttpClient admin, string query)
    {
        var response = await admin.GetAsync($"/api/v1/admin/organizations?{query}");
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        var page = JsonDocument.Parse(text).RootElement;
        var next = page.GetProperty("nextCursor");
        return ([.. page.GetProperty("items").EnumerateArray()], next.ValueKind == JsonValueKind.Null ? null : next.GetString());
    }

    private static Guid Id(JsonElement item) => item.GetProperty("id").GetGuid();

    private async Task<Guid> CreateAsync(
        string slug, OrganizationStatus status, string? schema, string plan = Plan.Free, Guid? server = null, UserAccount? owner = null)
    {
        var organization = await platform.CreateOrganizationAsync(
            slug, owner is null ? [] : [(owner, OrgRole.Owner)], server, provision: false, plan: plan);
        await using var db = await platform.CatalogAsync();
        await db.Organizations.Where(o => o.Id == organization.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(o => o.Status, status).SetProperty(o => o.SchemaVersion, schema));
        return organization.Id;
    }

    // Each key is compared as the list defines it (nulls lowest, status by lifecycle), ties by id in the same direction.
    private static void AssertSorted(List<JsonElement> items, string field, bool descending)
    {
        for (var i = 1; i < items.Count; i++)
        {
            var (previous, current) = (items[i - 1], items[i]);
            var compared = Compare(previous, current, field);
            if (compared == 0)
            {
                compared = string.CompareOrdinal(Id(previous).ToString(), Id(current).ToString());
            }

            (descending ? compared > 0 : compared < 0).ShouldBeTrue(
                $"{(descending ? "-" : string.Empty)}{field}: {previous} then {current}");
        }
    }

    private static int Compare(JsonElement a, JsonElement b, string field) => field switch
    {
        "name" => string.CompareOrdinal(a.GetProperty("name").GetString(), b.GetProperty("name").GetString()),
        "slug" => string.CompareOrdinal(a.GetProperty("slug").GetString(), b.GetProperty("slug").GetString()),
        "plan" => string.CompareOrdinal(a.GetProperty("plan").GetString(), b.GetProperty("plan").GetString()),
        "status" => Array.IndexOf(StatusOrder, a.GetProperty("status").GetString())
            .CompareTo(Array.IndexOf(StatusOrder, b.GetProperty("status").GetString())),
        "server" => string.CompareOrdinal(Text(a, "serverName"), Text(b, "serverName")),
        "schemaVersion" => string.CompareOrdinal(Text(a, "schemaVersion"), Text(b, "schemaVersion")),
        "databaseSize" => Number(a, "databaseSizeBytes").CompareTo(Number(b, "databaseSizeBytes")),
        "members" => a.GetProperty("members").GetInt32().CompareTo(b.GetProperty("members").GetInt32()),
        "lastBackupAt" => Time(a, "lastBackupAt").CompareTo(Time(b, "lastBackupAt")),
        "createdAt" => Time(a, "createdAt").CompareTo(Time(b, "createdAt")),
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    private static string Text(JsonElement item, string property) =>
        item.GetProperty(property).ValueKind == JsonValueKind.Null ? string.Empty : item.GetProperty(property).GetString()!;

    private static long Number(JsonElement item, string property) =>
        item.GetProperty(property).ValueKind == JsonValueKind.Null ? -1 : item.GetProperty(property).GetInt64();

    private static DateTimeOffset Time(JsonElement item, string property) =>
        item.GetProperty(property).ValueKind == JsonValueKind.Null
            ? DateTimeOffset.UnixEpoch
            : item.GetProperty(property).GetDateTimeOffset();
}
