using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Admin;

/// <summary>
/// Registering, draining and activating database servers, and the measured database sizes (docs/OPERATIONS.md,
/// "Database servers").
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class DatabaseServersTests(AdminPlatform platform) : IAsyncLifetime
{
    private static readonly NpgsqlConnectionStringBuilder Primary = TestDatabaseServers.Primary;

    public Task InitializeAsync() => platform.ReadyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_reachable_server_is_registered_with_its_password_only_in_the_secret_store()
    {
        var name = $"{AdminPlatform.NewToken()}-pg";
        var admin = platform.AdminClient();
        var host = OtherName(Primary.Host!);
        var response = await admin.PostAsJsonAsync("/api/v1/admin/database-servers", Body(name, host, Primary.Port, Primary.Password));
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var text = await response.Content.ReadAsStringAsync();
        text.ShouldNotContain(Primary.Password!);
        var server = JsonDocument.Parse(text).RootElement;
        var id = server.GetProperty("id").GetGuid();
        try
        {
            response.Headers.Location!.ToString().ShouldBe($"/api/v1/admin/database-servers/{id}");
            server.GetProperty("name").GetString().ShouldBe(name);
            server.GetProperty("status").GetString().ShouldBe("active");
            server.GetProperty("tenants").GetInt32().ShouldBe(0);
            server.GetProperty("capacity").GetInt32().ShouldBe(25);
            server.TryGetProperty("password", out _).ShouldBeFalse();

            await using (var db = await platform.CatalogAsync())
            {
                var row = await db.DatabaseServers.AsNoTracking().SingleAsync(s => s.Id == id);
                row.AdminSecretName.ShouldBe(SecretName.ForDatabaseServer(id));
                (await platform.Services.GetRequiredService<ISecretStore>().GetAsync(row.AdminSecretName)).ShouldBe(Primary.Password);
            }

            (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/database-servers/{id}")).GetProperty("host").GetString()
                .ShouldBe(host);
            var listed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/database-servers");
            listed.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetGuid())
                .ShouldContain(platform.PrimaryServer.Id);
            listed.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetGuid()).ShouldContain(id);

            (await Problem.ReadAsync(await admin.PostAsJsonAsync("/api/v1/admin/database-servers",
                Body(name, "127.0.0.2", Primary.Port, Primary.Password)), HttpStatusCode.Conflict)).Errors!.ShouldContainKey("name");
        }
        finally
        {
            // Gone after this test: nothing may be placed on it (the platform's cleanup only knows the test servers' host names),
            // and the next registration of this host and port must not be a duplicate.
            await using var db = await platform.CatalogAsync();
            await db.DatabaseServers.Where(s => s.Id == id).ExecuteDeleteAsync();
            await platform.Services.GetRequiredService<ISecretStore>().DeleteAsync(SecretName.ForDatabaseServer(id));
        }
    }

    [Theory]
    [InlineData("adminUsername")]
    [InlineData("password")]
    public async Task A_nul_character_in_the_credentials_is_a_400_on_that_field_and_nothing_is_saved(string field)
    {
        // Found by the fault suite's abuse corpus (tests/faults, docs/reliability.md): the probe's connection string threw, a 500.
        var name = $"{AdminPlatform.NewToken()}-pg";
        var body = new Dictionary<string, object?>
        {
            ["name"] = name,
            ["host"] = "127.0.0.1",
            ["port"] = Primary.Port,
            ["adminUsername"] = Primary.Username,
            ["password"] = Primary.Password,
            ["capacity"] = 25,
        };
        body[field] = "a\u0000b";

        var problem = await Problem.ReadAsync(
            await platform.AdminClient().PostAsJsonAsync("/api/v1/admin/database-servers", body), HttpStatusCode.BadRequest);

        problem.Errors!.ShouldContainKey(field);
        await using var db = await platform.CatalogAsync();
        (await db.DatabaseServers.CountAsync(s => s.Name == name)).ShouldBe(0);
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_or_signed_in_to_is_refused_and_nothing_is_saved()
    {
        var admin = platform.AdminClient();
        var (servers, secrets) = await CountServersAndSecretsAsync();

        var wrongPassword = await Problem.ReadAsync(
            await admin.PostAsJsonAsync("/api/v1/admin/database-servers",
                Body($"{AdminPlatform.NewToken()}-pg", OtherName(Primary.Host!), Primary.Port, "not-the-password-4711")),
            HttpStatusCode.UnprocessableEntity);
        wrongPassword.Code.ShouldBe("database_server_unreachable");
        wrongPassword.Type.ShouldBe("https://cleancrm.dev/problems/database_server_unreachable");
        wrongPassword.Detail.ShouldContain("28P01");
        wrongPassword.Detail.ShouldNotContain("not-the-password-4711");

        var closedPort = await Problem.ReadAsync(
            await admin.PostAsJsonAsync("/api/v1/admin/database-servers", Body($"{AdminPlatform.NewToken()}-pg", "127.0.0.1", 1, "x")),
            HttpStatusCode.UnprocessableEntity);
        closedPort.Code.ShouldBe("database_server_unreachable");
        closedPort.Detail.ShouldContain("127.0.0.1:1");

        (await CountServersAndSecretsAsync()).ShouldBe((servers, secrets));
    }

    [Theory]
    [InlineData("""{"name":"Bad Name","host":"localhost","port":5432,"adminUsername":"postgres","password":"x","capacity":1}""", "name")]
    [InlineData("""{"name":"ok-name","host":"local host","port":5432,"adminUsername":"postgres","password":"x","capacity":1}""", "host")]
    [InlineData("""{"name":"ok-name","host":"localhost","port":0,"adminUsername":"postgres","password":"x","capacity":1}""", "port")]
    [InlineData("""{"name":"ok-name","host":"localhost","port":5432,"adminUsername":"","password":"x","capacity":1}""", "adminUsername")]
    [InlineData("""{"name":"ok-name","host":"localhost","port":5432,"adminUsername":"postgres","capacity":1}""", "password")]
    [InlineData("""{"name":"ok-name","host":"localhost","port":5432,"adminUsername":"postgres","password":"x","capacity":0}""", "capacity")]
    public async Task Invalid_registrations_are_a_validation_problem_and_save_nothing(string body, string field)
    {
        var before = await CountServersAndSecretsAsync();
        var response = await platform.AdminClient().PostAsync("/api/v1/admin/database-servers",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        (await Problem.ReadAsync(response, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey(field);
        (await CountServersAndSecretsAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Only_platform_admins_manage_servers_and_unknown_ids_are_not_found()
    {
        var server = await platform.AddUnreachableServerAsync($"{AdminPlatform.NewToken()}-srv", DatabaseServerStatus.Offline);
        var user = platform.UserClient();
        await Problem.ReadAsync(await user.GetAsync("/api/v1/admin/database-servers"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(
            await user.PostAsJsonAsync("/api/v1/admin/database-servers", Body("x-pg", "localhost", Primary.Port, Primary.Password)),
            HttpStatusCode.Forbidden);
        foreach (var path in new[] { "drain", "activate" })
        {
            await Problem.ReadAsync(
                await user.PostAsync($"/api/v1/admin/database-servers/{server.Id}/{path}", null), HttpStatusCode.Forbidden);
        }

        (await StatusAsync(server.Id)).ShouldBe(DatabaseServerStatus.Offline, "a refused call changes nothing");

        var admin = platform.AdminClient();
        foreach (var path in new[] { "drain", "activate" })
        {
            (await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/database-servers/{Guid.NewGuid()}/{path}", null),
                HttpStatusCode.NotFound)).Code.ShouldBe("not_found");
        }

        await Problem.ReadAsync(await admin.GetAsync($"/api/v1/admin/database-servers/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_draining_server_keeps_its_tenants_but_placement_moves_and_restores_refuse_it()
    {
        var token = AdminPlatform.NewToken();
        var server = await platform.AddUnreachableServerAsync($"{token}-srv", DatabaseServerStatus.Active);
        var admin = platform.AdminClient();
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var resident = await platform.CreateOrganizationAsync($"{token}-resident", serverId: server.Id, provision: false);
        Backup backup;
        await using (var db = await platform.CatalogAsync())
        {
            backup = AdminOrganizationsTests.SucceededBackup(organization.Id, DateTimeOffset.UtcNow);
            db.Backups.Add(backup);
            await db.SaveChangesAsync();
        }

        // Only this server is active for placement during the test (the others are set back afterwards).
        Dictionary<Guid, DatabaseServerStatus> others;
        await using (var db = await platform.CatalogAsync())
        {
            others = await db.DatabaseServers.Where(s => s.Id != server.Id).ToDictionaryAsync(s => s.Id, s => s.Status);
        }

        try
        {
            foreach (var id in others.Keys)
            {
                await platform.SetServerStatusAsync(id, DatabaseServerStatus.Draining);
            }

            (await ChooseAsync()).Id.ShouldBe(server.Id);

            var drained = await admin.PostAsync($"/api/v1/admin/database-servers/{server.Id}/drain", null);
            drained.StatusCode.ShouldBe(HttpStatusCode.OK, await drained.Content.ReadAsStringAsync());
            var dto = await drained.Content.ReadFromJsonAsync<JsonElement>();
            dto.GetProperty("status").GetString().ShouldBe("draining");
            dto.GetProperty("tenants").GetInt32().ShouldBe(1, "its tenant stays");
            (await admin.PostAsync($"/api/v1/admin/database-servers/{server.Id}/drain", null)).StatusCode
                .ShouldBe(HttpStatusCode.OK, "draining twice is fine");

            await Should.ThrowAsync<NoDatabaseCapacityException>(ChooseAsync);
            (await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/move",
                new { databaseServerId = server.Id }), HttpStatusCode.BadRequest)).Detail.ShouldContain("draining");
            (await Problem.ReadAsync(await admin.PostAsJsonAsync($"/api/v1/admin/backups/{backup.Id}/restore",
                new { databaseServerId = server.Id, mode = "side_by_side" }), HttpStatusCode.BadRequest)).Detail.ShouldContain("draining");
            await using (var db = await platform.CatalogAsync())
            {
                (await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == resident.Id)).DatabaseServerId.ShouldBe(server.Id);
                (await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == organization.Id)).Status
                    .ShouldBe(OrganizationStatus.Active, "not moving");
                (await db.BackupRestores.CountAsync(r => r.BackupId == backup.Id)).ShouldBe(0);
            }

            var activated = await admin.PostAsync($"/api/v1/admin/database-servers/{server.Id}/activate", null);
            (await activated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().ShouldBe("active");
            (await ChooseAsync()).Id.ShouldBe(server.Id);
        }
        finally
        {
            await platform.SetServerStatusAsync(server.Id, DatabaseServerStatus.Offline);
            foreach (var (id, status) in others)
            {
                await platform.SetServerStatusAsync(id, status);
            }
        }
    }

    [Fact]
    public async Task Placements_racing_each_other_wait_for_one_another_and_spread_over_the_servers()
    {
        // Regression (found by the compose smoke test): two workers placing at once both read every server's fill
        // before either wrote its choice, and both picked the same server. Placement is serialized by a catalog-wide
        // transaction lock; here the test holds that lock, lets four placements queue behind it, then releases it.
        var token = AdminPlatform.NewToken();
        var first = await platform.AddUnreachableServerAsync($"{token}-a", DatabaseServerStatus.Active);
        var second = await platform.AddUnreachableServerAsync($"{token}-b", DatabaseServerStatus.Active);
        var organizations = new List<Organization>();
        for (var i = 0; i < 4; i++)
        {
            organizations.Add(await platform.CreateOrganizationAsync($"{token}-race-{i}", provision: false));
        }

        Dictionary<Guid, DatabaseServerStatus> others;
        await using (var db = await platform.CatalogAsync())
        {
            others = await db.DatabaseServers.Where(s => s.Id != first.Id && s.Id != second.Id)
                .ToDictionaryAsync(s => s.Id, s => s.Status);
        }

        try
        {
            foreach (var id in others.Keys)
            {
                await platform.SetServerStatusAsync(id, DatabaseServerStatus.Draining);
            }

            await using var holder = new NpgsqlConnection(platform.CatalogConnectionString);
            await holder.OpenAsync();
            await using (var take = new NpgsqlCommand(
                             "SELECT pg_advisory_lock(hashtextextended('cleancrm:tenant-placement', 0))", holder))
            {
                await take.ExecuteScalarAsync();
            }

            await using var services = PlatformEnvironment.BuildServices(
                platform.Settings, s => s.AddSingleton<IProvisioningStepObserver>(new StopAfterPlacement()));
            var runs = organizations.Select(o => Task.Run(async () =>
            {
                await using var scope = services.CreateAsyncScope();
                return await scope.ServiceProvider.GetRequiredService<TenantOnboarding>().ProvisionAsync(o.Id, CancellationToken.None);
            })).ToList();

            var waiting = 0L;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (waiting < organizations.Count && DateTime.UtcNow < deadline && runs.All(r => !r.IsCompleted))
            {
                await using var count = new NpgsqlCommand(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    + "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()", holder);
                waiting = (long)(await count.ExecuteScalarAsync())!;
                await Task.Delay(50);
            }

            waiting.ShouldBe(organizations.Count, "every placement should wait for the catalog-wide placement lock");
            await using (var release = new NpgsqlCommand(
                             "SELECT pg_advisory_unlock(hashtextextended('cleancrm:tenant-placement', 0))", holder))
            {
                await release.ExecuteScalarAsync();
            }

            foreach (var run in runs)
            {
                await Should.ThrowAsync<PlacementDone>(run);
            }

            await using var catalog = await platform.CatalogAsync();
            var ids = organizations.Select(o => o.Id).ToList();
            var placed = await catalog.Organizations.AsNoTracking().Where(o => ids.Contains(o.Id))
                .GroupBy(o => o.DatabaseServerId).Select(g => new { Server = g.Key, Count = g.Count() }).ToListAsync();
            placed.ToDictionary(p => p.Server ?? Guid.Empty, p => p.Count)
                .ShouldBe(new Dictionary<Guid, int> { [first.Id] = 2, [second.Id] = 2 },
                    "each placement sees the ones before it, so two empty servers of the same capacity get two each");
        }
        finally
        {
            await platform.SetServerStatusAsync(first.Id, DatabaseServerStatus.Offline);
            await platform.SetServerStatusAsync(second.Id, DatabaseServerStatus.Offline);
            foreach (var (id, status) in others)
            {
                await platform.SetServerStatusAsync(id, status);
            }
        }
    }

    [Fact]
    public async Task Database_sizes_are_measured_after_provisioning_and_by_the_job_without_notifying_the_caches()
    {
        var measured = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var other = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await using (var db = await platform.CatalogAsync())
        {
            var row = await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == measured.Id);
            row.DatabaseSizeBytes.ShouldNotBeNull().ShouldBeGreaterThan(1_000_000, "a real database, measured right after provisioning");
            row.DatabaseSizeMeasuredAt.ShouldNotBeNull();
            await db.Organizations.Where(o => o.Id == measured.Id).ExecuteUpdateAsync(s => s
                .SetProperty(o => o.DatabaseSizeBytes, (long?)null).SetProperty(o => o.DatabaseSizeMeasuredAt, (DateTimeOffset?)null));
        }

        // Notifications arrive in commit order: the sentinel (a real change of another org) comes after anything the job sent.
        await using var listener = new NpgsqlConnection(platform.CatalogConnectionString);
        await listener.OpenAsync();
        var notified = new List<string>();
        listener.Notification += (_, e) => notified.Add(e.Payload);
        await using (var listen = new NpgsqlCommand("LISTEN cleancrm_catalog_changes", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        var updated = await platform.Services.GetRequiredService<DatabaseSizeJob>().RunAsync(CancellationToken.None);

        await using (var db = await platform.CatalogAsync())
        {
            await db.Organizations.Where(o => o.Id == other.Id).ExecuteUpdateAsync(s => s.SetProperty(o => o.Name, "Renamed"));
        }

        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (!notified.Contains($"org:{other.Id}"))
            {
                await listener.WaitAsync(timeout.Token);
            }
        }

        notified.ShouldNotContain($"org:{measured.Id}");
        updated.ShouldBeGreaterThanOrEqualTo(2);
        await using (var db = await platform.CatalogAsync())
        {
            var row = await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == measured.Id);
            row.DatabaseSizeBytes.ShouldNotBeNull().ShouldBeGreaterThan(1_000_000);
            row.DatabaseSizeMeasuredAt.ShouldNotBeNull().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-1));
        }

        var listed = (await AdminOrganizationsTests.PageAsync(platform.AdminClient(), $"q={measured.Slug}")).Items.Single();
        listed.GetProperty("databaseSizeBytes").GetInt64().ShouldBeGreaterThan(1_000_000);
    }

    // The primary test server under its other loopback name, so registering it is not a duplicate of the registered one.
    private static string OtherName(string host) => host switch
    {
        "127.0.0.1" => "localhost",
        "localhost" => "127.0.0.1",
        _ => throw new InvalidOperationException($"The test server '{host}' has no second loopback name to register it under."),
    };

    private static object Body(string name, string host, int port, string? password) =>
        new { name, host, port, adminUsername = Primary.Username, password, capacity = 25 };

    private async Task<DatabaseServer> ChooseAsync()
    {
        await using var db = await platform.CatalogAsync();
        return await platform.Services.GetRequiredService<TenantPlacement>().ChooseServerAsync(db, CancellationToken.None);
    }

    private async Task<DatabaseServerStatus> StatusAsync(Guid serverId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.DatabaseServers.Where(s => s.Id == serverId).Select(s => s.Status).SingleAsync();
    }

    private async Task<(int Servers, int Secrets)> CountServersAndSecretsAsync()
    {
        await using var db = await platform.CatalogAsync();
        return (await db.DatabaseServers.CountAsync(), await db.Secrets.CountAsync(s => s.Name.StartsWith("dbserver-admin-")));
    }

    /// <summary>Ends a run right after its placement, so no database is attempted on the test's unreachable servers.</summary>
    private sealed class StopAfterPlacement : IProvisioningStepObserver
    {
        public ValueTask BeforeStepAsync(Guid organizationId, string current, CancellationToken cancellationToken) =>
            ValueTask.CompletedTask;

        public ValueTask AfterStepAsync(Guid organizationId, string current, CancellationToken cancellationToken) =>
            current == ProvisioningSteps.Reserve ? throw new PlacementDone() : ValueTask.CompletedTask;
    }

    private sealed class PlacementDone() : Exception("stopped after placement");
}
