using System.ComponentModel;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Organizations.Commands.ResumeOrganization;
using CleanCrm.Application.Organizations.Commands.SuspendOrganization;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

public class OrganizationSettings : CommandSettings
{
    [CommandArgument(0, "<ORGANIZATION>")]
    [Description("Organization slug or id.")]
    public string Organization { get; init; } = string.Empty;

    [CommandOption("--reason <REASON>")]
    [Description("Why (suspend, resume): kept in the platform audit log, at most 500 characters.")]
    public string? Reason { get; init; }
}

/// <summary>Shared lookup for verbs that act on one organization; exits 2 when it does not exist.</summary>
public abstract class OrganizationCommand : AsyncCommand<OrganizationSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, OrganizationSettings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder(context.Remaining.Raw.ToArray(), runJobServer: false).Build();
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<CatalogDbContext>>()
            .CreateDbContextAsync(cancellationToken);
        var organization = Guid.TryParse(settings.Organization, out var id)
            ? await db.Organizations.FirstOrDefaultAsync(o => o.Id == id, cancellationToken)
            : await db.Organizations.FirstOrDefaultAsync(o => o.Slug == settings.Organization, cancellationToken);
        if (organization is null)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]No organization '{settings.Organization}'.[/]");
            return 2;
        }

        return await ExecuteAsync(host.Services, db, organization, settings, cancellationToken);
    }

    protected abstract Task<int> ExecuteAsync(IServiceProvider services, CatalogDbContext db, Organization organization,
        OrganizationSettings settings, CancellationToken cancellationToken);

    /// <summary>Sends an admin command as the system, so the platform audit log records it with the channel <c>cli</c>.</summary>
    protected static async Task<int> SendAsync<T>(IServiceProvider services, Mediator.ICommand<Result<T>> command, string done,
        CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<Mediator.IMediator>().Send(command, cancellationToken);
        if (!result.IsSuccess)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{result.Error!.Detail}[/]");
            return 1;
        }

        AnsiConsole.MarkupLineInterpolated($"{done}");
        return 0;
    }
}

/// <summary>Provisions (or resumes provisioning of) one organization in this process.</summary>
public sealed class ProvisionCommand : OrganizationCommand
{
    protected override async Task<int> ExecuteAsync(IServiceProvider services, CatalogDbContext db, Organization organization,
        OrganizationSettings settings, CancellationToken cancellationToken)
    {
        var outcome = await services.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, cancellationToken);
        var run = await db.ProvisioningRuns.AsNoTracking().Include(r => r.Steps).Where(r => r.OrganizationId == organization.Id)
            .OrderByDescending(r => r.CreatedAt).FirstAsync(cancellationToken);
        var table = new Table().AddColumns("step", "status", "attempts", "error");
        foreach (var step in run.Steps.OrderBy(s => s.Position))
        {
            table.AddRow(step.Name, step.Status.ToString().ToLowerInvariant(),
                step.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(step.Error ?? string.Empty));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"{organization.Slug}: [bold]{outcome.ToString().ToLowerInvariant()}[/]");
        return outcome == ProvisioningStatus.Succeeded ? 0 : 1;
    }
}

public sealed class SuspendCommand : OrganizationCommand
{
    protected override async Task<int> ExecuteAsync(IServiceProvider services, CatalogDbContext db, Organization organization,
        OrganizationSettings settings, CancellationToken cancellationToken)
    {
        if (organization.Status != OrganizationStatus.Active)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{organization.Slug} is {organization.Status.ToString().ToLowerInvariant()}; only active organizations can be suspended.[/]");
            return 1;
        }

        return await SendAsync(services, new SuspendOrganization(organization.Id, settings.Reason), $"{organization.Slug}: suspended",
            cancellationToken);
    }
}

public sealed class ResumeCommand : OrganizationCommand
{
    protected override async Task<int> ExecuteAsync(IServiceProvider services, CatalogDbContext db, Organization organization,
        OrganizationSettings settings, CancellationToken cancellationToken)
    {
        if (organization.Status != OrganizationStatus.Suspended)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{organization.Slug} is {organization.Status.ToString().ToLowerInvariant()}; only suspended organizations can be resumed.[/]");
            return 1;
        }

        return await SendAsync(services, new ResumeOrganization(organization.Id, settings.Reason), $"{organization.Slug}: active",
            cancellationToken);
    }
}
