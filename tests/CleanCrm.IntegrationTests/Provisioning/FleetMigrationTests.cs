using System.Diagnostics;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Provisioning;

/// <summary>
/// Fleet migrations against real tenant databases: a database is made to be one migration behind by rolling its last
/// migration back with EF's own migrator (the migration's Down), and made to fail for real by losing its migrations
/// history while keeping its tables (re-applying the migration then hits "relation already exists").
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class FleetMigrationTests(SharedPlatform platform) : IAsyncLifetime
{
    private static readonly string Latest = TenantMigrations.LatestVersion;

    // Marks every migration of this build as applied (what an operator does to re-baseline a database whose history was lost).
    private static string Baseline(string productVersion) =>
        string.Join(", ", TenantMigrations.AllVersions.Select(id => $"('{id}', '{productVersion}')"));

    private readonly List<Guid> _created = [];

    private FleetMigrator Fleet => platform.Services.GetRequiredService<FleetMigrator>();

    [Fact]
    public async Task Tenants_at_the_latest_version_are_skipped_without_connecting()
    {
        var current = await CreateOrganizationAsync();
        var suspended = await CreateOrganizationAsync();
        await platform.SetStatusAsync(suspended.Id, OrganizationStatus.Suspended);

        // Connecting to these databases would now fail, so a clean run proves they were never touched.
        await SetAllowConnectionsAsync(current, false);
        await SetAllowConnectionsAsync(suspended, false);
        try
        {
            var progress = new RecordingProgress();
            var report = await Fleet.MigrateAsync(4, progress, CancellationToken.None);

            report.Failed.ShouldBeEmpty(string.Join("; ", report.Failed.Select(f => $"{f.Slug}: {f.Reason}")));
            report.TargetVersion.ShouldBe(Latest);
            report.Templates.ShouldAllBe(t => t.Error == null && t.Version == Latest);
            var touched = report.Migrated.Concat(report.Skipped).Select(r => r.Slug).ToList();
            touched.ShouldNotContain(current.Slug);
            touched.ShouldNotContain(suspended.Slug);
            report.UpToDate.ShouldBeGreaterThanOrEqualTo(2);
            report.SkippedCount.ShouldBe(report.UpToDate + report.Skipped.Count);
            report.Succeeded.ShouldBeTrue();
            progress.Last!.Phase.ShouldBe(FleetMigrationPhase.Completed);
            (await CatalogVersionAsync(current.Id)).ShouldBe(Latest);
        }
        finally
        {
            await SetAllowConnectionsAsync(current, true);
            await SetAllowConnectionsAsync(suspended, true);
        }
    }

    [Fact]
    public async Task Stale_tenants_are_migrated_a_failing_one_is_reported_and_a_rerun_after_the_fix_finishes_it()
    {
        var rolledBack = await CreateOrganizationAsync();
        var staleCatalogOnly = await CreateOrganizationAsync();
        var broken = await CreateOrganizationAsync();
        var deleting = await CreateOrganizationAsync();
        var productVersion = await HistoryProductVersionAsync(rolledBack);

        // 1. Really one migration behind: the last migration rolled back (tables dropped, history row gone), catalog NULL.
        await RollBackLastMigrationAsync(rolledBack);
        await SetCatalogVersionAsync(rolledBack.Id, null);
        (await AppliedMigrationsAsync(rolledBack)).ShouldNotContain(Latest);

        // 2. The catalog lags behind the database (e.g. a crash between migrating and recording): catalog says older.
        await SetCatalogVersionAsync(staleCatalogOnly.Id, "20200101000000_Older");

        // 3. Fails for real: the history was lost but the tables are there, so re-applying the migration collides.
        await ExecuteAsync(broken, $"DROP TABLE {TenantMigrations.HistoryTable}");
        await SetCatalogVersionAsync(broken.Id, string.Empty);

        // 4. Stale but being deleted: must be left alone.
        await SetCatalogVersionAsync(deleting.Id, string.Empty);
        await platform.SetStatusAsync(deleting.Id, OrganizationStatus.Deleting);

        var progress = new RecordingProgress();
        var report = await Fleet.MigrateAsync(4, progress, CancellationToken.None);

        report.Failed.Select(f => f.Slug).ShouldBe([broken.Slug]);
        report.Failed[0].Reason.ShouldNotBeNull().ShouldContain("already exists");
        report.Failed[0].Reason!.ShouldNotContain(TestDatabaseServers.Primary.Password!);
        report.Migrated.Select(m => m.Slug).ShouldContain(rolledBack.Slug);
        report.Migrated.Select(m => m.Slug).ShouldContain(staleCatalogOnly.Slug);
        report.Migrated.Single(m => m.Slug == rolledBack.Slug).ShouldSatisfyAllConditions(
            m => m.FromVersion.ShouldBeNull(),
            m => m.ToVersion.ShouldBe(Latest));
        report.Migrated.Concat(report.Skipped).Concat(report.Failed).Select(r => r.Slug).ShouldNotContain(deleting.Slug);
        report.Succeeded.ShouldBeFalse();

        // What the CLI shows: the bar reached total, with the failure counted.
        var last = progress.Last!;
        last.Phase.ShouldBe(FleetMigrationPhase.Completed);
        last.Done.ShouldBe(last.Total);
        last.Total.ShouldBe(report.Migrated.Count + report.Skipped.Count + report.Failed.Count);
        (last.Migrated, last.Failed).ShouldBe((report.Migrated.Count, 1));
        progress.MaxDoneDuringTenants.ShouldBe(last.Total);

        // The catalog and the databases agree.
        (await CatalogVersionAsync(rolledBack.Id)).ShouldBe(Latest);
        (await CatalogVersionAsync(staleCatalogOnly.Id)).ShouldBe(Latest);
        (await CatalogVersionAsync(broken.Id)).ShouldBe(string.Empty);
        (await CatalogVersionAsync(deleting.Id)).ShouldBe(string.Empty);
        (await AppliedMigrationsAsync(rolledBack)).ShouldBe(AllMigrations());
        (await AppliedMigrationsAsync(staleCatalogOnly)).ShouldBe(AllMigrations());
        (await AppliedMigrationsAsync(broken)).ShouldBeEmpty();

        // Re-created tables are usable by the tenant role (grants), and still not by anyone else.
        (await PlatformEnvironment.CountRowsAsync(rolledBack, $"SELECT count(*) FROM information_schema.role_table_grants WHERE grantee " +
            $"= '{rolledBack.DatabaseRole}' AND table_name = 'contacts' AND privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')"))
            .ShouldBe(4);
        (await PlatformEnvironment.CountRowsAsync(rolledBack, $"SELECT count(*) FROM information_schema.role_table_grants WHERE grantee " +
            $"= '{rolledBack.DatabaseRole}' AND table_name = '{TenantMigrations.HistoryTable}' AND privilege_type <> 'SELECT'"))
            .ShouldBe(0);

        // The operator's fix: baseline the database whose history was lost, then run again.
        await ExecuteAsync(
            broken, $"INSERT INTO {TenantMigrations.HistoryTable} (migration_id, product_version) VALUES {Baseline(productVersion)}");
        var rerun = await Fleet.MigrateAsync(4, null, CancellationToken.None);

        rerun.Failed.ShouldBeEmpty(string.Join("; ", rerun.Failed.Select(f => $"{f.Slug}: {f.Reason}")));
        rerun.Migrated.Select(m => m.Slug).ShouldBe([broken.Slug]);
        (await CatalogVersionAsync(broken.Id)).ShouldBe(Latest);
        (await AppliedMigrationsAsync(broken)).ShouldBe(AllMigrations());
        await using var db = await platform.CatalogAsync();
        (await db.Organizations.Where(o => (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended)
            && o.SchemaVersion != Latest).Select(o => o.Slug).ToListAsync()).ShouldBeEmpty();

        var third = await Fleet.MigrateAsync(4, null, CancellationToken.None);
        (third.Migrated.Count, third.Failed.Count, third.Skipped.Count).ShouldBe((0, 0, 0));
    }

    [Fact]
    public async Task An_organization_locked_by_another_process_is_skipped_as_busy_and_migrated_by_the_next_run()
    {
        var organization = await CreateOrganizationAsync();
        await SetCatalogVersionAsync(organization.Id, null);

        await using (var holder = new NpgsqlConnection(
            TestDatabaseServers.ConnectionString(TestDatabaseServers.Primary, platform.CatalogDatabase)))
        {
            await holder.OpenAsync();
            (await OrganizationLock.TryAcquireAsync(holder, organization.Id, CancellationToken.None)).ShouldBeTrue();

            var report = await Fleet.MigrateAsync(2, null, CancellationToken.None);

            report.Skipped.Single(s => s.Slug == organization.Slug).Reason.ShouldNotBeNull().ShouldStartWith("busy");
            report.Failed.ShouldBeEmpty();
            (await CatalogVersionAsync(organization.Id)).ShouldBeNull();
        }

        var rerun = await Fleet.MigrateAsync(2, null, CancellationToken.None);
        rerun.Migrated.Select(m => m.Slug).ShouldBe([organization.Slug]);
        (await CatalogVersionAsync(organization.Id)).ShouldBe(Latest);
    }

    [Fact]
    public async Task Cli_migrate_exits_non_zero_and_names_the_failing_tenant()
    {
        var broken = await CreateOrganizationAsync();
        var productVersion = await HistoryProductVersionAsync(broken);
        await ExecuteAsync(broken, $"DROP TABLE {TenantMigrations.HistoryTable}");
        await SetCatalogVersionAsync(broken.Id, null);
        try
        {
            var (exit, output) = await RunWorkerAsync("migrate", "--parallelism", "2");

            exit.ShouldBe(MigrateCommandExitCodes.PartialFailure, output);
            output.ShouldContain("catalog migrated");
            output.ShouldContain("template databases migrated");
            output.ShouldContain(broken.Slug);
            output.ShouldContain("already exists");
            output.ShouldContain("fleet: 0 migrated");
            output.ShouldContain(" 1 failed in ");
            output.ShouldNotContain(TestDatabaseServers.Primary.Password!);
            (await CatalogVersionAsync(broken.Id)).ShouldBeNull();

            var (invalid, message) = await RunWorkerAsync("migrate", "--parallelism", "0");
            invalid.ShouldNotBe(0);
            message.ShouldContain("--parallelism must be between 1 and 64");
        }
        finally
        {
            await ExecuteAsync(
                broken,
                $"CREATE TABLE IF NOT EXISTS {TenantMigrations.HistoryTable} (migration_id varchar(150) PRIMARY KEY, product_version " +
                    $"varchar(32) NOT NULL); INSERT INTO {TenantMigrations.HistoryTable} VALUES {Baseline(productVersion)} ON CONFLICT " +
                    $"DO NOTHING");
            await SetCatalogVersionAsync(broken.Id, Latest);
        }
    }

    [Fact]
    public async Task The_maintenance_job_runs_the_same_fleet_migration()
    {
        var organization = await CreateOrganizationAsync();
        await SetCatalogVersionAsync(organization.Id, null);
        var job = platform.Services.GetRequiredService<FleetMigrationJob>();

        var report = await job.RunAsync(2, null, CancellationToken.None);

        report.Migrated.Select(m => m.Slug).ShouldBe([organization.Slug]);
        (await CatalogVersionAsync(organization.Id)).ShouldBe(Latest);

        // What the admin endpoint will queue: a valid Hangfire job on the maintenance queue, never retried blindly.
        var queued = Hangfire.Common.Job.FromExpression<FleetMigrationJob>(j => j.RunAsync(null, null, CancellationToken.None),
            HangfireStorage.MaintenanceQueue);
        queued.Queue.ShouldBe(HangfireStorage.MaintenanceQueue);
        var method = typeof(FleetMigrationJob).GetMethod(nameof(FleetMigrationJob.RunAsync))!;
        method.GetCustomAttributes(typeof(Hangfire.QueueAttribute), false).Cast<Hangfire.QueueAttribute>().Single()
            .Queue.ShouldBe(HangfireStorage.MaintenanceQueue);
        method.GetCustomAttributes(typeof(Hangfire.AutomaticRetryAttribute), false).Cast<Hangfire.AutomaticRetryAttribute>().Single()
            .Attempts.ShouldBe(0);
    }

    [Fact]
    public void Failure_reasons_keep_the_messages_but_never_a_password()
    {
        var exception = new InvalidOperationException(
            "Connecting with Host=db;Password=s3cret;Database=x failed",
            new TimeoutException("Timeout during connection attempt"));

        var reason = FleetMigrator.Describe(exception);

        reason.ShouldNotContain("s3cret");
        reason.ShouldContain("Password=***");
        reason.ShouldContain("Timeout during connection attempt");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// Marks this test's organizations deleted (their databases are still dropped with the platform), so the shared
    /// platform's per-server tenant counts, which placement tests depend on, are as if this test had not run.
    /// </summary>
    public async Task DisposeAsync()
    {
        await using var db = await platform.CatalogAsync();
        await db.Organizations.Where(o => _created.Contains(o.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(o => o.Status, OrganizationStatus.Deleted));
    }

    private async Task<Organization> CreateOrganizationAsync()
    {
        var organization = await platform.CreateOrganizationAsync();
        _created.Add(organization.Id);
        return organization;
    }

    private static List<string> AllMigrations()
    {
        using var db = TenantMigrations.CreateMigrationContext("Host=localhost");
        return db.Database.GetMigrations().ToList();
    }

    /// <summary>Rolls the database back by its last migration with EF's migrator (runs that migration's Down).</summary>
    private static async Task RollBackLastMigrationAsync(Organization organization)
    {
        await using var db = TenantMigrations.CreateMigrationContext(PlatformEnvironment.TenantAdminConnectionString(organization));
        var all = AllMigrations();
        await db.GetService<IMigrator>().MigrateAsync(all.Count > 1 ? all[^2] : Migration.InitialDatabase);
    }

    private static async Task ExecuteAsync(Organization organization, string sql)
    {
        await using var connection = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> AppliedMigrationsAsync(Organization organization)
    {
        await using var connection = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await connection.OpenAsync();
        await using var command =
            new NpgsqlCommand($"SELECT migration_id FROM {TenantMigrations.HistoryTable} ORDER BY migration_id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static async Task<string> HistoryProductVersionAsync(Organization organization)
    {
        await using var connection = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT product_version FROM {TenantMigrations.HistoryTable} ORDER BY migration_id DESC LIMIT 1", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private async Task SetCatalogVersionAsync(Guid organizationId, string? version)
    {
        await using var db = await platform.CatalogAsync();
        await db.Organizations.Where(o => o.Id == organizationId).ExecuteUpdateAsync(s => s.SetProperty(o => o.SchemaVersion, version));
    }

    private async Task<string?> CatalogVersionAsync(Guid organizationId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.Organizations.Where(o => o.Id == organizationId).Select(o => o.SchemaVersion).SingleAsync();
    }

    private static async Task SetAllowConnectionsAsync(Organization organization, bool allow)
    {
        var server = PlatformEnvironment.TenantAdminConnectionString(organization);
        var builder = new NpgsqlConnectionStringBuilder(server);
        await TestDatabaseServers.ExecuteAsync(
            builder, $"ALTER DATABASE \"{organization.DatabaseName}\" WITH ALLOW_CONNECTIONS {(allow ? "true" : "false")}");
    }

    private async Task<(int Exit, string Output)> RunWorkerAsync(params string[] args)
    {
        var primary = TestDatabaseServers.Primary;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CleanCrm.Provisioning.Worker.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ConnectionStrings__Catalog"] = TestDatabaseServers.ConnectionString(primary, platform.CatalogDatabase);
        start.Environment["CleanCrm__Tenancy__TemplateDatabase"] = platform.TemplateDatabase;
        start.Environment["CleanCrm__Tenancy__DefaultServer__Host"] = primary.Host!;
        start.Environment["CleanCrm__Tenancy__DefaultServer__Port"] =
            primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["CleanCrm__Tenancy__DefaultServer__Username"] = primary.Username!;
        start.Environment["CleanCrm__Tenancy__DefaultServer__Password"] = primary.Password!;
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["COLUMNS"] = "240";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static class MigrateCommandExitCodes
    {
        public const int PartialFailure = CleanCrm.Provisioning.Worker.Commands.MigrateCommand.PartialFailureExitCode;
    }

    private sealed class RecordingProgress : IProgress<FleetMigrationProgress>
    {
        private readonly Lock _gate = new();

        public FleetMigrationProgress? Last { get; private set; }

        public int MaxDoneDuringTenants { get; private set; }

        public void Report(FleetMigrationProgress value)
        {
            lock (_gate)
            {
                Last = value;
                if (value.Phase == FleetMigrationPhase.Tenants)
                {
                    MaxDoneDuringTenants = Math.Max(MaxDoneDuringTenants, value.Done);
                }
            }
        }
    }
}
