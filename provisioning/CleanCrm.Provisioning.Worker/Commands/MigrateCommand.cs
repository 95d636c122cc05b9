using CleanCrm.Infrastructure.Provisioning;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>Migrates the catalog, registers the configured default server, and migrates every server's template database.</summary>
public sealed class MigrateCommand : AsyncCommand
{
    public override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder(context.Remaining.Raw.ToArray(), runJobServer: false).Build();
        var migrator = host.Services.GetRequiredService<DatabaseMigrator>();
        try
        {
            await migrator.MigrateCatalogAsync(cancellationToken);
            AnsiConsole.MarkupLine("[green]catalog[/] migrated");
            await migrator.MigrateTemplatesAsync(cancellationToken);
            AnsiConsole.MarkupLine("[green]template databases[/] migrated");
            return 0;
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]migration failed:[/] {exception.Message}");
            return 1;
        }
    }
}
