using System.ComponentModel;
using System.Globalization;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>
/// Migrates the catalog (registering the configured default server), every server's template database, then every
/// active or suspended organization's database that is behind. Exit code 0: all done; 1: the run could not start or
/// stopped (catalog unreachable, cancelled); 2: it finished, but some tenant or template databases failed (run again).
/// </summary>
public sealed class MigrateCommand : AsyncCommand<MigrateCommand.Settings>
{
    public const int PartialFailureExitCode = 2;

    public sealed class Settings : CommandSettings
    {
        [CommandOption("--parallelism <N>")]
        [Description("Tenant databases migrated at once (1-64; default CleanCrm:Migrations:MaxParallelism, 8).")]
        public int? Parallelism { get; init; }

        [CommandOption("--catalog-only")]
        [Description("Migrate only the catalog and the template databases, not the tenants.")]
        public bool CatalogOnly { get; init; }

        public override ValidationResult Validate() =>
            Parallelism is < 1 or > MigrationOptions.MaxAllowedParallelism
                ? ValidationResult.Error($"--parallelism must be between 1 and {MigrationOptions.MaxAllowedParallelism}.")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder(context.Remaining.Raw.ToArray(), runJobServer: false).Build();
        try
        {
            if (settings.CatalogOnly)
            {
                var migrator = host.Services.GetRequiredService<DatabaseMigrator>();
                await migrator.MigrateCatalogAsync(cancellationToken);
                AnsiConsole.MarkupLine("[green]catalog[/] migrated");
                await migrator.MigrateTemplatesAsync(cancellationToken);
                AnsiConsole.MarkupLine("[green]template databases[/] migrated");
                return 0;
            }

            var fleet = host.Services.GetRequiredService<FleetMigrator>();
            var report = await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn())
                .StartAsync(async progressContext =>
                {
                    var bar = new ProgressBar(progressContext.AddTask("catalog", maxValue: 1));
                    return await fleet.MigrateAsync(settings.Parallelism, bar, cancellationToken);
                });
            Print(report);
            return report.Succeeded ? 0 : PartialFailureExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]migration cancelled[/]: databases finished so far are recorded; run again to finish");
            return 1;
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException
            or Microsoft.Extensions.Options.OptionsValidationException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]migration failed:[/] {FleetMigrator.Describe(exception)}");
            return 1;
        }
    }

    private static void Print(FleetMigrationReport report)
    {
        AnsiConsole.MarkupLine("[green]catalog[/] migrated");
        var brokenTemplates = report.Templates.Where(t => t.Error is not null).ToList();
        if (brokenTemplates.Count == 0)
        {
            AnsiConsole.MarkupLine("[green]template databases[/] migrated");
        }

        foreach (var template in brokenTemplates)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]template database[/] on server {template.Server} failed: {template.Error}");
        }

        AnsiConsole.MarkupLineInterpolated($"[green]warm-pool databases[/] migrated: {report.WarmPoolMigrated}");
        foreach (var error in report.WarmPoolErrors)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]warm pool[/]: {error}");
        }

        var seconds = report.TenantsDuration.TotalSeconds;
        AnsiConsole.MarkupLineInterpolated($"tenant databases, target version [bold]{report.TargetVersion}[/]:");
        var summary = new Table().AddColumns("migrated", "skipped", "failed", "seconds", "tenants/s");
        summary.AddRow(
            report.Migrated.Count.ToString(CultureInfo.InvariantCulture),
            $"{report.SkippedCount} ({report.UpToDate} up to date)",
            report.Failed.Count == 0 ? "0" : $"[red]{report.Failed.Count}[/]",
            seconds.ToString("0.0", CultureInfo.InvariantCulture),
            (seconds > 0 ? (report.Migrated.Count + report.Failed.Count) / seconds : 0).ToString("0.0", CultureInfo.InvariantCulture));
        AnsiConsole.Write(summary);

        if (report.Failed.Count + report.Skipped.Count > 0)
        {
            var details = new Table().AddColumns("organization", "outcome", "catalog version", "reason");
            foreach (var (result, outcome) in report.Failed.Select(r => (r, "[red]failed[/]"))
                .Concat(report.Skipped.Select(r => (r, "[yellow]skipped[/]"))))
            {
                details.AddRow(Markup.Escape(result.Slug), outcome, Markup.Escape(result.FromVersion ?? "-"),
                    Markup.Escape(result.Reason ?? string.Empty));
            }

            AnsiConsole.Write(details);
        }

        // One plain line for scripts (the benchmark parses it).
        AnsiConsole.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"fleet: {report.Migrated.Count} migrated, {report.SkippedCount} skipped, {report.Failed.Count} failed in {seconds:0.00} s " +
                $"(parallelism {report.Parallelism})"));
    }

    /// <summary>Drives the single progress bar: indeterminate during catalog/templates, then tenants done/total.</summary>
    private sealed class ProgressBar(ProgressTask task) : IProgress<FleetMigrationProgress>
    {
        private readonly Lock _gate = new();
        private int _done = -1;

        public void Report(FleetMigrationProgress value)
        {
            lock (_gate)
            {
                switch (value.Phase)
                {
                    case FleetMigrationPhase.Catalog or FleetMigrationPhase.Templates:
                        task.IsIndeterminate = true;
                        task.Description = value.Phase == FleetMigrationPhase.Catalog ? "catalog" : "template databases";
                        return;
                    case FleetMigrationPhase.Tenants when value.Done < _done:
                        return; // an older snapshot that lost the race
                }

                _done = value.Done;
                task.IsIndeterminate = false;
                task.MaxValue = Math.Max(1, value.Total);
                task.Value = value.Total == 0 ? (value.Phase == FleetMigrationPhase.Completed ? 1 : 0) : value.Done;
                var failed = value.Failed == 0 ? "0 failed" : $"[red]{value.Failed} failed[/]";
                task.Description = $"tenants {value.Done}/{value.Total} ({failed})";
            }
        }
    }
}
