using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.IntegrationTests.Api;
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

        var (exit, output) = await WorkerCliTests.RunAsync(["restore-drill", "--sample", "10", "--days", "1"], CliEnvironment());

        exit.ShouldBe(2, output);
        output.ShouldContain("restore drill: 1 verified, 1 failed");
        output.ShouldContain("checksum mismatch");
        await using var db = await platform.CatalogAsync();
        var restores = await db.BackupRestores.AsNoTracking().ToListAsync();
        restores.Single(r => r.BackupId == good.Id).Status.ShouldBe(RestoreStatus.Confirmed);
        restores.Single(r => r.BackupId == bad.Id).Status.ShouldBe(RestoreStatus.Failed);
        foreach (var restore in restores)
        {
            (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres", "SELECT count(*) FROM pg_database WHERE datname = $1", restore.DatabaseName))
                .ShouldBe(0, "drill copies are dropped");
        }

        var (badExit, badOutput) = await WorkerCliTests.RunAsync(["restore-drill", "--sample", "0"], CliEnvironment());
        badExit.ShouldNotBe(0);
        badOutput.ShouldContain("--sample must be between 1 and 1000");
    }

    private Dictionary<string, string> CliEnvironment()
    {
        var environment = platform.Settings.Where(s => s.Value is not null).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        environment["DOTNET_ENVIRONMENT"] = "Production";
        return environment;
    }
}
