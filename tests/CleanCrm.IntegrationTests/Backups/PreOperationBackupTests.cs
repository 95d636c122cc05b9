using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Backups;

/// <summary>The safety backups taken before a move and (when configured) before a tenant's migration.</summary>
[Collection(PlatformCollection.Name)]
public sealed class PreOperationBackupTests(SharedPlatform platform)
{
    [Fact]
    public async Task Moving_a_tenant_takes_a_backup_on_the_source_first()
    {
        var target = platform.SecondaryServer;
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        await platform.Services.GetRequiredService<TenantMover>().MoveAsync(organization.Id, target.Id, CancellationToken.None);

        await using var db = await platform.CatalogAsync();
        var backup = await db.Backups.AsNoTracking().Include(b => b.Tables).SingleAsync(b => b.OrganizationId == organization.Id);
        backup.Trigger.ShouldBe(BackupTrigger.PreMove);
        backup.Status.ShouldBe(BackupStatus.Succeeded, backup.Error);
        backup.DatabaseServerId.ShouldBe(platform.PrimaryServer.Id, "taken where the data was before the move");
        backup.Tables.ShouldContain(t => t.TableName == "pipelines" && t.RowCount == 1);
    }

    [Fact]
    public async Task With_backups_before_migration_the_fleet_migrator_backs_up_each_tenant_it_migrates()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var previous = TenantMigrations.AllVersions[^2];
        await TestDatabaseServers.ExecuteAsync(
            TestDatabaseServers.Primary, $"UPDATE organizations SET schema_version = '{previous}' WHERE id = '{organization.Id}'",
            platform.CatalogDatabase);
        var settings = new Dictionary<string, string?>(platform.Settings) { ["CleanCrm:Backups:BeforeMigration"] = "true" };
        await using var services = PlatformEnvironment.BuildServices(settings);

        var report = await services.GetRequiredService<FleetMigrator>().MigrateAsync(null, null, CancellationToken.None);

        report.Migrated.ShouldContain(r => r.OrganizationId == organization.Id);
        await using var db = await platform.CatalogAsync();
        var backup = await db.Backups.AsNoTracking().SingleAsync(b => b.OrganizationId == organization.Id);
        backup.Trigger.ShouldBe(BackupTrigger.PreMigration);
        backup.Status.ShouldBe(BackupStatus.Succeeded, backup.Error);
    }
}
