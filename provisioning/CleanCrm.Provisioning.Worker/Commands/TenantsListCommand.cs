using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>Lists organizations with their status, plan, server, database and schema version.</summary>
public sealed class TenantsListCommand : AsyncCommand<TenantsListCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--status <STATUS>")]
        [System.ComponentModel.Description(
            "Only organizations with this status (pending, provisioning, active, failed, suspended, deleting, deleted).")]
        public string? Status { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder([], runJobServer: false).Build();
        var factory = host.Services.GetRequiredService<IDbContextFactory<CatalogDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        var organizations = await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer).OrderBy(o => o.Slug)
            .ToListAsync(cancellationToken);
        var table = new Table().AddColumns("slug", "status", "plan", "server", "database", "schema version");
        foreach (var o in organizations.Where(o => settings.Status is null
            || string.Equals(o.Status.ToString(), settings.Status, StringComparison.OrdinalIgnoreCase)))
        {
            table.AddRow(Markup.Escape(o.Slug), o.Status.ToString().ToLowerInvariant(), o.PlanKey,
                Markup.Escape(o.DatabaseServer?.Name ?? "-"), o.DatabaseName, o.SchemaVersion ?? "-");
        }

        AnsiConsole.Write(table);
        return 0;
    }
}
