using System.Globalization;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>Shows each server's warm pool (ready, behind, creating, mid-claim) and, with <c>--refill</c>, tops it up now.</summary>
public sealed class WarmPoolCommand : AsyncCommand<WarmPoolCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--server <NAME>")]
        [System.ComponentModel.Description("Only this database server (its registered name).")]
        public string? Server { get; init; }

        [CommandOption("--refill")]
        [System.ComponentModel.Description("Discard leftovers, migrate entries behind this build and create missing ones now.")]
        public bool Refill { get; init; }

        public override ValidationResult Validate() =>
            Server is { } name && string.IsNullOrWhiteSpace(name)
                ? ValidationResult.Error("--server needs a server name.")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // The parser passes unknown options through; an operator's typo must not run a refill they did not ask for.
        if (context.Remaining.Raw.Count > 0 || context.Remaining.Parsed.Count > 0)
        {
            // Unknown options land in Parsed (by name, without their dashes), stray values in Raw.
            var unknown = context.Remaining.Parsed.Select(option => "--" + option.Key.TrimStart('-')).Concat(context.Remaining.Raw);
            AnsiConsole.MarkupLineInterpolated(
                $"[red]Unknown argument(s): {string.Join(' ', unknown)}[/] (options: --server <NAME>, --refill)");
            return 2;
        }

        using var host = WorkerHost.CreateBuilder([], runJobServer: false).Build();
        if (settings.Server is { } name)
        {
            await using var db = await host.Services.GetRequiredService<IDbContextFactory<CatalogDbContext>>()
                .CreateDbContextAsync(cancellationToken);
            if (!await db.DatabaseServers.AnyAsync(s => s.Name == name, cancellationToken))
            {
                AnsiConsole.MarkupLineInterpolated($"[red]No database server '{name}'.[/]");
                return 2;
            }
        }

        var pool = host.Services.GetRequiredService<WarmPool>();
        var exit = 0;
        if (settings.Refill)
        {
            var result = await pool.RefillAsync(settings.Server, cancellationToken);
            if (!result.Ran)
            {
                AnsiConsole.MarkupLine("[yellow]another process is refilling the warm pool[/]; run again later");
                exit = 3;
            }
            else
            {
                AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"refill: {result.Created} created, {result.Migrated} migrated, {result.Discarded} leftovers discarded"));
            }

            foreach (var error in result.Errors)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{error}[/]");
                exit = 1;
            }
        }

        var table = new Table().AddColumns("server", "status", "target", "ready", "behind", "creating", "claiming");
        foreach (var state in await pool.StatusAsync(settings.Server, cancellationToken))
        {
            table.AddRow(Markup.Escape(state.Server), state.Status.ToString().ToLowerInvariant(), Number(state.Target), Number(state.Ready),
                Number(state.Behind), Number(state.Creating), Number(state.Claimed));
        }

        AnsiConsole.Write(table);
        return exit;
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
