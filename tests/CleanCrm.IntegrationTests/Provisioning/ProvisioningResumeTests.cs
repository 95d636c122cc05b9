using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Provisioning;

/// <summary>Crash at every step boundary, then run again: one database, one role, one secret, org active.</summary>
[Collection(PlatformCollection.Name)]
public sealed class ProvisioningResumeTests(SharedPlatform platform)
{
    public static TheoryData<string> Steps() => [.. ProvisioningSteps.All];

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task A_worker_dying_after_a_step_resumes_to_exactly_one_database_role_and_secret(string crashAfter)
    {
        var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
        var crash = new CrashAfterStep(crashAfter);
        await using (var dying = PlatformEnvironment.BuildServices(
            platform.Settings, services => services.AddSingleton<IProvisioningStepObserver>(crash)))
        {
            await Should.ThrowAsync<SimulatedCrash>(() => dying.GetRequiredService<TenantOnboarding>()
                .ProvisionAsync(organization.Id, CancellationToken.None));
        }

        if (crashAfter != ProvisioningSteps.Activate)
        {
            (await StatusAsync(organization.Id)).ShouldNotBe("active");
        }

        await using (var restarted = PlatformEnvironment.BuildServices(platform.Settings))
        {
            (await restarted.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None))
                .ShouldBe(ProvisioningStatus.Succeeded);
        }

        (await StatusAsync(organization.Id)).ShouldBe("active");
        var database = Organization.DatabaseNameFor(organization.Id);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", database)).ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = $1", Organization.DatabaseRoleFor(organization.Id))).ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM secrets WHERE name = $1", SecretName.ForTenantDatabase(organization.Id))).ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM provisioning_runs WHERE organization_id = $1", organization.Id)).ShouldBe(1);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, database, "SELECT count(*) FROM pipelines")).ShouldBe(1);

        // The role's password in the secret store is the one the server accepts.
        var password = await platform.Services.GetRequiredService<ISecretStore>().GetAsync(SecretName.ForTenantDatabase(organization.Id));
        await using var asTenant =
            new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
            {
                Username = Organization.DatabaseRoleFor(organization.Id),
                Password = password,
                Database = database,
                Pooling = false,
            }.ConnectionString);
        await asTenant.OpenAsync();
    }

    [Fact]
    public async Task Two_workers_running_the_same_run_at_once_produce_one_database()
    {
        var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
        var run = ProvisioningRun.For(organization.Id, DateTimeOffset.UtcNow);
        await using (var db = await platform.CatalogAsync())
        {
            db.ProvisioningRuns.Add(run);
            await db.SaveChangesAsync();
        }

        await using var first = PlatformEnvironment.BuildServices(platform.Settings);
        await using var second = PlatformEnvironment.BuildServices(platform.Settings);
        var outcomes = await Task.WhenAll(
            first.GetRequiredService<ProvisioningRunner>().RunAsync(run.Id, CancellationToken.None),
            second.GetRequiredService<ProvisioningRunner>().RunAsync(run.Id, CancellationToken.None));
        outcomes.ShouldContain(ProvisioningStatus.Succeeded);
        outcomes.ShouldNotContain(ProvisioningStatus.Failed);
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT max(attempt) FROM provisioning_steps WHERE run_id = $1", run.Id)).ShouldBe(1);

        (await StatusAsync(organization.Id)).ShouldBe("active");
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM provisioning_runs WHERE organization_id = $1", organization.Id)).ShouldBe(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_a_current_template_the_database_is_created_empty_and_migrated(bool templateExistsButIsBehind)
    {
        var template = $"cct_tpl_behind_{Guid.NewGuid():N}"[..30];
        if (templateExistsButIsBehind)
        {
            await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"CREATE DATABASE \"{template}\"");
        }

        try
        {
            var settings = new Dictionary<string, string?>(platform.Settings) { ["CleanCrm:Tenancy:TemplateDatabase"] = template };
            var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
            await using var services = PlatformEnvironment.BuildServices(settings);
            var origin = await services.GetRequiredService<TenantDatabaseProvisioner>()
                .EnsureDatabaseAsync(platform.PrimaryServer, organization.Id, CancellationToken.None);
            origin.ShouldBe(TenantDatabaseOrigin.CreatedEmpty);
            (await services.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None))
                .ShouldBe(ProvisioningStatus.Succeeded);
            (await StatusAsync(organization.Id)).ShouldBe("active");
            (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, Organization.DatabaseNameFor(organization.Id),
                "SELECT max(migration_id) FROM __ef_migrations_history"))
                .ShouldBe(TenantMigrations.LatestVersion);
        }
        finally
        {
            await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)");
        }
    }

    [Fact]
    public async Task A_current_template_is_cloned()
    {
        var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
        var provisioner = platform.Services.GetRequiredService<TenantDatabaseProvisioner>();
        (await provisioner.EnsureDatabaseAsync(platform.PrimaryServer, organization.Id, CancellationToken.None))
            .ShouldBe(TenantDatabaseOrigin.ClonedFromTemplate);
        (await provisioner.EnsureDatabaseAsync(platform.PrimaryServer, organization.Id, CancellationToken.None))
            .ShouldBe(TenantDatabaseOrigin.AlreadyExisted);
        (await platform.Services.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None))
            .ShouldBe(ProvisioningStatus.Succeeded);
    }

    private Task<string?> StatusAsync(Guid organizationId) =>
        TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organizationId);

    private sealed class SimulatedCrash(string step) : Exception($"worker died after {step}");

    private sealed class CrashAfterStep(string step) : IProvisioningStepObserver
    {
        public ValueTask BeforeStepAsync(Guid organizationId, string current, CancellationToken cancellationToken) =>
            ValueTask.CompletedTask;

        public ValueTask AfterStepAsync(Guid organizationId, string current, CancellationToken cancellationToken) =>
            current == step ? throw new SimulatedCrash(step) : ValueTask.CompletedTask;
    }
}
