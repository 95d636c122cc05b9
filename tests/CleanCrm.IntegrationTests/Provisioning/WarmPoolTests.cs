using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.IntegrationTests.Provisioning;

/// <summary>
/// The warm pool against real PostgreSQL: racing claims, the clone fallback, a claim killed at every stage, the fleet
/// migration of pooled databases, draining, and the operator verb. Each test empties the primary server's pool afterwards.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class WarmPoolTests(SharedPlatform platform) : IAsyncLifetime
{
    private readonly List<Guid> _created = [];

    [Fact]
    public async Task Twenty_racing_signups_each_get_a_distinct_database_none_twice_and_the_pool_refills()
    {
        await using var services = Services(size: 10);
        var pool = services.GetRequiredService<WarmPool>();
        (await pool.RefillAsync(platform.PrimaryServer.Name, CancellationToken.None)).Created.ShouldBe(10);
        var pooled = await PoolDatabaseOidsAsync();
        pooled.Count.ShouldBe(10);
        var poolIds = await PoolIdsAsync();

        var organizations = new List<Organization>();
        for (var i = 0; i < 20; i++)
        {
            organizations.Add(await CreateOrganizationAsync());
        }

        var onboarding = services.GetRequiredService<TenantOnboarding>();
        var outcomes = await Task.WhenAll(
            organizations.Select(o => Task.Run(() => onboarding.ProvisionAsync(o.Id, CancellationToken.None))));
        outcomes.ShouldAllBe(outcome => outcome == ProvisioningStatus.Succeeded);

        var oids = new List<long>();
        foreach (var organization in organizations)
        {
            oids.Add((await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
                "SELECT oid::bigint FROM pg_database WHERE datname = $1", Organization.DatabaseNameFor(organization.Id))));
            await AssertTenantCanLogInAsync(organization.Id);
        }

        // Ten orgs got the ten pooled databases (same database, new name), each exactly once; the other ten were cloned.
        oids.Distinct().Count().ShouldBe(20);
        oids.Count(pooled.Contains).ShouldBe(10);
        (await PoolDatabaseOidsAsync()).ShouldBeEmpty();
        (await CatalogCountAsync("SELECT count(*) FROM warm_pool_databases")).ShouldBe(0);
        (await CatalogCountAsync("SELECT count(*) FROM secrets WHERE name LIKE 'warm-pool-db-%'")).ShouldBe(0);
        (await PoolRolesLeftAsync(poolIds)).ShouldBe(0);

        var refill = await pool.RefillAsync(platform.PrimaryServer.Name, CancellationToken.None);
        refill.Created.ShouldBe(10);
        var state = (await pool.StatusAsync(platform.PrimaryServer.Name, CancellationToken.None)).ShouldHaveSingleItem();
        state.Ready.ShouldBe(10);
        state.Target.ShouldBe(10);
    }

    [Fact]
    public async Task With_an_empty_or_disabled_pool_the_signup_clones_the_template()
    {
        await using (var empty = Services(size: 5))
        {
            var organization = await CreateOrganizationAsync();
            (await empty.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None))
                .ShouldBe(ProvisioningStatus.Succeeded);
            await AssertTenantCanLogInAsync(organization.Id);
        }

        await using (var one = Services(size: 1))
        {
            (await one.GetRequiredService<WarmPool>().RefillAsync(platform.PrimaryServer.Name, CancellationToken.None)).Created.ShouldBe(1);
        }

        await using var disabled = Services(size: 0);
        var second = await CreateOrganizationAsync();
        (await disabled.GetRequiredService<TenantOnboarding>().ProvisionAsync(second.Id, CancellationToken.None))
            .ShouldBe(ProvisioningStatus.Succeeded);
        await AssertTenantCanLogInAsync(second.Id);
        (await PoolDatabaseOidsAsync()).Count.ShouldBe(1, "a disabled pool is never claimed from");
    }

    public static TheoryData<string> Stages() =>
        [WarmPool.Stages.Claimed, WarmPool.Stages.SecretCopied, WarmPool.Stages.RoleRenamed, WarmPool.Stages.DatabaseRenamed];

    [Theory]
    [MemberData(nameof(Stages))]
    public async Task A_worker_killed_mid_claim_converges_to_one_database_role_and_secret_and_the_entry_consumed(string stage)
    {
        await using (var filler = Services(size: 1))
        {
            (await filler.GetRequiredService<WarmPool>().RefillAsync(platform.PrimaryServer.Name, CancellationToken.None))
                .Created.ShouldBe(1);
        }

        var pooled = (await PoolDatabaseOidsAsync()).ShouldHaveSingleItem();
        var poolIds = await PoolIdsAsync();
        var organization = await CreateOrganizationAsync();
        using var kill = new CancellationTokenSource();
        await using (var dying = Services(size: 1, services => services.AddSingleton<IWarmPoolClaimObserver>(new KillAt(stage, kill))))
        {
            // Cancelled, not failed: the runner records nothing, like a process that died (its step stays "running").
            await Should.ThrowAsync<OperationCanceledException>(() =>
                dying.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, kill.Token));
        }

        await using (var restarted = Services(size: 1))
        {
            (await restarted.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None))
                .ShouldBe(ProvisioningStatus.Succeeded);
        }

        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT oid::bigint FROM pg_database WHERE datname = $1", Organization.DatabaseNameFor(organization.Id))).ShouldBe(pooled);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = $1", Organization.DatabaseRoleFor(organization.Id))).ShouldBe(1);
        (await CatalogCountAsync($"SELECT count(*) FROM secrets WHERE name = '{SecretName.ForTenantDatabase(organization.Id)}'"))
            .ShouldBe(1);
        (await PoolDatabaseOidsAsync()).ShouldBeEmpty();
        (await CatalogCountAsync("SELECT count(*) FROM warm_pool_databases")).ShouldBe(0);
        (await CatalogCountAsync("SELECT count(*) FROM secrets WHERE name LIKE 'warm-pool-db-%'")).ShouldBe(0);
        (await PoolRolesLeftAsync(poolIds)).ShouldBe(0);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, Organization.DatabaseNameFor(organization.Id),
            "SELECT count(*) FROM pipelines")).ShouldBe(1);
        await AssertTenantCanLogInAsync(organization.Id);
    }

    [Fact]
    public async Task A_pooled_database_behind_this_build_is_never_claimed_and_the_fleet_migration_brings_it_to_head()
    {
        await using var services = Services(size: 1);
        (await services.GetRequiredService<WarmPool>().RefillAsync(platform.PrimaryServer.Name, CancellationToken.None))
            .Created.ShouldBe(1);
        var entryId = (await (await platform.CatalogAsync()).WarmPoolDatabases.SingleAsync()).Id;
        var poolDatabase = WarmPoolDatabase.NameFor(entryId);
        await RollBackLastMigrationAsync(poolDatabase);
        var previous = TenantMigrations.AllVersions.Count > 1 ? TenantMigrations.AllVersions[^2] : null;
        await using (var db = await platform.CatalogAsync())
        {
            await db.WarmPoolDatabases.ExecuteUpdateAsync(s => s.SetProperty(w => w.SchemaVersion, previous));
        }

        var state = (await services.GetRequiredService<WarmPool>().StatusAsync(platform.PrimaryServer.Name, CancellationToken.None))
            .ShouldHaveSingleItem();
        (state.Ready, state.Behind).ShouldBe((0, 1));

        var organization = await CreateOrganizationAsync();
        (await services.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None))
            .ShouldBe(ProvisioningStatus.Succeeded);
        (await PoolDatabaseOidsAsync()).Count.ShouldBe(1, "the behind entry was skipped, the org cloned the template");

        var report = await services.GetRequiredService<FleetMigrator>().RunAsync(new FleetRunOptions(), null, CancellationToken.None);
        report.WarmPoolMigrated.ShouldBe(1);
        report.WarmPoolErrors.ShouldBeEmpty();
        (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, poolDatabase,
            $"SELECT max(migration_id) FROM {TenantMigrations.HistoryTable}")).ShouldBe(TenantMigrations.LatestVersion);
        (await (await platform.CatalogAsync()).WarmPoolDatabases.SingleAsync()).SchemaVersion.ShouldBe(TenantMigrations.LatestVersion);

        var claimer = await CreateOrganizationAsync();
        (await services.GetRequiredService<TenantOnboarding>().ProvisionAsync(claimer.Id, CancellationToken.None))
            .ShouldBe(ProvisioningStatus.Succeeded);
        (await PoolDatabaseOidsAsync()).ShouldBeEmpty();
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, Organization.DatabaseNameFor(claimer.Id),
            "SELECT count(*) FROM contacts")).ShouldBe(0);
        await AssertTenantCanLogInAsync(claimer.Id);
    }

    [Fact]
    public async Task A_draining_server_is_not_refilled_and_its_ready_databases_are_discarded()
    {
        await using var services = Services(size: 2);
        var pool = services.GetRequiredService<WarmPool>();
        (await pool.RefillAsync(platform.PrimaryServer.Name, CancellationToken.None)).Created.ShouldBe(2);
        await SetServerStatusAsync(DatabaseServerStatus.Draining);
        try
        {
            var refill = await pool.RefillAsync(platform.PrimaryServer.Name, CancellationToken.None);
            (refill.Created, refill.Discarded).ShouldBe((0, 2));
            (await PoolDatabaseOidsAsync()).ShouldBeEmpty();
            (await CatalogCountAsync("SELECT count(*) FROM secrets WHERE name LIKE 'warm-pool-db-%'")).ShouldBe(0);
            (await pool.StatusAsync(platform.PrimaryServer.Name, CancellationToken.None)).ShouldHaveSingleItem().Target.ShouldBe(0);
        }
        finally
        {
            await SetServerStatusAsync(DatabaseServerStatus.Active);
        }
    }

    [Fact]
    public async Task A_refill_left_half_done_by_a_crash_is_discarded_by_the_next()
    {
        var leftover = new WarmPoolDatabase { DatabaseServerId = platform.PrimaryServer.Id, CreatedAt = DateTimeOffset.UtcNow };
        await using (var db = await platform.CatalogAsync())
        {
            db.WarmPoolDatabases.Add(leftover);
            await db.SaveChangesAsync();
        }

        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"CREATE DATABASE \"{leftover.DatabaseName}\"");
        await using var services = Services(size: 1);
        var refill = await services.GetRequiredService<WarmPool>().RefillAsync(platform.PrimaryServer.Name, CancellationToken.None);
        (refill.Discarded, refill.Created).ShouldBe((1, 1));
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", leftover.DatabaseName)).ShouldBe(0);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public async Task An_out_of_range_pool_size_is_refused_at_start_up(int size)
    {
        await using var services = Services(size);
        var error = Should.Throw<OptionsValidationException>(() => services.GetRequiredService<IOptions<WarmPoolOptions>>().Value);
        error.Message.ShouldContain("Size");
    }

    [Fact]
    public async Task The_warm_pool_verb_shows_and_refills_and_refuses_bad_input()
    {
        var (exit, output) = await RunWorkerAsync("warm-pool", "--refill", "--server", platform.PrimaryServer.Name);
        exit.ShouldBe(0, output);
        output.ShouldContain("refill: 1 created");
        output.ShouldContain(platform.PrimaryServer.Name);
        (await PoolDatabaseOidsAsync()).Count.ShouldBe(1);

        var (unknownExit, unknown) = await RunWorkerAsync("warm-pool", "--server", "no-such-server");
        unknownExit.ShouldBe(2, unknown);
        unknown.ShouldContain("No database server 'no-such-server'");

        var (blankExit, blank) = await RunWorkerAsync("warm-pool", "--server", " ");
        blankExit.ShouldNotBe(0, blank);
        blank.ShouldContain("--server needs a server name");

        var (bogusExit, bogus) = await RunWorkerAsync("warm-pool", "--size", "3");
        bogusExit.ShouldBe(2, bogus);
        bogus.ShouldContain("Unknown argument(s): --size");
        (await PoolDatabaseOidsAsync()).Count.ShouldBe(1, "refused input changes nothing");
    }

    public Task InitializeAsync() => EmptyPoolAsync();

    /// <summary>Empties the pool and marks this test's orgs deleted, so placement and other tests see the platform as before.</summary>
    public async Task DisposeAsync()
    {
        await EmptyPoolAsync();
        await using var db = await platform.CatalogAsync();
        await db.Organizations.Where(o => _created.Contains(o.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(o => o.Status, OrganizationStatus.Deleted));
    }

    private ServiceProvider Services(int size, Action<IServiceCollection>? configure = null) =>
        PlatformEnvironment.BuildServices(
            new Dictionary<string, string?>(platform.Settings)
            {
                ["CleanCrm:Provisioning:WarmPool:Size"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            configure);

    private async Task EmptyPoolAsync()
    {
        await using (var db = await platform.CatalogAsync())
        {
            foreach (var id in await db.WarmPoolDatabases.Select(w => w.Id).ToListAsync())
            {
                var name = WarmPoolDatabase.NameFor(id);
                await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP ROLE IF EXISTS \"{name}\"");
            }

            await db.WarmPoolDatabases.ExecuteDeleteAsync();
            await db.Secrets.Where(s => s.Name.StartsWith("warm-pool-db-")).ExecuteDeleteAsync();
        }
    }

    private async Task<Organization> CreateOrganizationAsync()
    {
        var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
        _created.Add(organization.Id);
        return organization;
    }

    private async Task<List<Guid>> PoolIdsAsync() =>
        await (await platform.CatalogAsync()).WarmPoolDatabases.Select(w => w.Id).ToListAsync();

    /// <summary>
    /// Roles of this catalog's pool entries still on the server. Counted by name, not by the <c>cleancrm_p_</c> prefix: the
    /// console tests' real worker runs at the same time on the same server with the default pool of 5.
    /// </summary>
    private static async Task<long> PoolRolesLeftAsync(IEnumerable<Guid> poolIds)
    {
        long left = 0;
        foreach (var name in poolIds.Select(WarmPoolDatabase.NameFor))
        {
            left += await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
                "SELECT count(*) FROM pg_roles WHERE rolname = $1", name);
        }

        return left;
    }

    private async Task<List<long>> PoolDatabaseOidsAsync()
    {
        var names = await (await platform.CatalogAsync()).WarmPoolDatabases.Select(w => w.Id).ToListAsync();
        var oids = new List<long>();
        foreach (var name in names.Select(WarmPoolDatabase.NameFor))
        {
            var oid = await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
                "SELECT coalesce(max(oid::bigint), 0) FROM pg_database WHERE datname = $1", name);
            if (oid != 0)
            {
                oids.Add(oid);
            }
        }

        return oids;
    }

    private Task<long> CatalogCountAsync(string sql) =>
        TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase, sql);

    private async Task SetServerStatusAsync(DatabaseServerStatus status)
    {
        await using var db = await platform.CatalogAsync();
        await db.DatabaseServers.Where(s => s.Id == platform.PrimaryServer.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.Status, status));
    }

    // The password in the secret store is the one the server accepts for the org's role, on the org's database.
    private async Task AssertTenantCanLogInAsync(Guid organizationId)
    {
        var password = await platform.Services.GetRequiredService<ISecretStore>().GetAsync(SecretName.ForTenantDatabase(organizationId));
        password.ShouldNotBeNull();
        await using var asTenant = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
        {
            Username = Organization.DatabaseRoleFor(organizationId),
            Password = password,
            Database = Organization.DatabaseNameFor(organizationId),
            Pooling = false,
        }.ConnectionString);
        await asTenant.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM members", asTenant);
        (await command.ExecuteScalarAsync()).ShouldNotBeNull();
    }

    private static async Task RollBackLastMigrationAsync(string database)
    {
        await using var db =
            TenantMigrations.CreateMigrationContext(TestDatabaseServers.ConnectionString(TestDatabaseServers.Primary, database));
        var all = TenantMigrations.AllVersions;
        await db.GetService<IMigrator>().MigrateAsync(all.Count > 1 ? all[^2] : Migration.InitialDatabase);
    }

    private Task<(int Exit, string Output)> RunWorkerAsync(params string[] args)
    {
        var primary = TestDatabaseServers.Primary;
        return Api.WorkerCliTests.RunAsync(args, new Dictionary<string, string>
        {
            ["ConnectionStrings__Catalog"] = TestDatabaseServers.ConnectionString(primary, platform.CatalogDatabase),
            ["CleanCrm__Tenancy__TemplateDatabase"] = platform.TemplateDatabase,
            ["CleanCrm__Tenancy__DefaultServer__Host"] = primary.Host!,
            ["CleanCrm__Tenancy__DefaultServer__Port"] = primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CleanCrm__Tenancy__DefaultServer__Username"] = primary.Username!,
            ["CleanCrm__Tenancy__DefaultServer__Password"] = primary.Password!,
            ["CleanCrm__Provisioning__WarmPool__Size"] = "1",
            ["DOTNET_ENVIRONMENT"] = "Production",
        });
    }

    /// <summary>Kills the run at one claim stage: cancels the run's token and throws, so nothing after it is recorded.</summary>
    private sealed class KillAt(string stage, CancellationTokenSource kill) : IWarmPoolClaimObserver
    {
        public ValueTask AfterStageAsync(Guid organizationId, string current, CancellationToken cancellationToken)
        {
            if (current == stage)
            {
                kill.Cancel();
                kill.Token.ThrowIfCancellationRequested();
            }

            return ValueTask.CompletedTask;
        }
    }
}
