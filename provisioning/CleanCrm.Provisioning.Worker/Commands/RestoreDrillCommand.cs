using System.ComponentModel;
using System.Globalization;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>
/// Restores a random sample of recent backups into scratch databases, verifies checksum and every table, drops them and
/// prints a report. Exit code 0: every sampled backup restored and verified; 2: some failed; 1: the drill could not run.
/// </summary>
public sealed class RestoreDrillCommand : AsyncCommand<RestoreDrillCommand.Settings>
{
    public const int FailedExitCode = 2;

    public sealed class Settings : CommandSettings
    {
        [CommandOption("--sample <N>")]
        [Description("How many organizations' newest backups to restore (default 5).")]
        public int Sample { get; init; } = 5;

        [CommandOption("--days <N>")]
        [Description("Only backups finished in the last N days (default 2).")]
        public int Days { get; init; } = 2;

        public override ValidationResult Validate() =>
            Sample is < 1 or > 1_000 ? ValidationResult.Error("--sample must be between 1 and 1000.")
            : Days is < 1 or > 3_650 ? ValidationResult.Error("--days must be between 1 and 3650.")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder(context.Remaining.Raw.ToArray(), runJobServer: false).Build();
        try
        {
            var results = await host.Services.GetRequiredService<RestoreDrill>()
                .RunAsync(settings.Sample, settings.Days, cancellationToken);
            var table = new Table().AddColumns("organization", "backup", "finished", "bytes", "tables", "rows", "result", "seconds");
            foreach (var result in results)
            {
                table.AddRow(
                    Markup.Escape(result.Slug),
                    result.BackupId.ToString(),
                    result.BackupFinishedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-",
                    (result.SizeBytes ?? 0).ToString(CultureInfo.InvariantCulture),
                    result.Tables.ToString(CultureInfo.InvariantCulture),
                    result.Rows.ToString(CultureInfo.InvariantCulture),
                    result.Passed ? "[green]verified[/]" : $"[red]failed[/]: {Markup.Escape(result.Reason ?? string.Empty)}",
                    result.Seconds.ToString("0.00", CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            var failed = results.Count(r => !r.Passed);
            AnsiConsole.WriteLine(
                string.Create(CultureInfo.InvariantCulture, $"restore drill: {results.Count - failed} verified, {failed} failed"));
            return failed == 0 ? 0 : FailedExitCode;
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException
            or Microsoft.Extensions.Options.OptionsValidationException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]restore drill failed:[/] {FleetMigrator.Describe(exception)}");
            return 1;
        }
    }
}
