using CleanCrm.Infrastructure.Backups;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>Runs the Hangfire server (queues provisioning, default, maintenance) until stopped.</summary>
public sealed class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--migrate")]
        [System.ComponentModel.Description("Migrate the catalog, templates and every tenant that is behind before serving.")]
        public bool Migrate { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder(context.Remaining.Raw.ToArray(), runJobServer: true).Build();
        if (host.Services.GetRequiredService<IConfiguration>().GetValue<bool>(WorkerCpuPriority.Setting))
        {
            var outcome = WorkerCpuPriority.Lower(Environment.ProcessId);
            host.Services.GetRequiredService<ILoggerFactory>().CreateLogger<ServeCommand>()
                .LogInformation("{Setting}: {Outcome}", WorkerCpuPriority.Setting, outcome);
        }

        if (settings.Migrate)
        {
            var report = await host.Services.GetRequiredService<FleetMigrator>().MigrateAsync(null, null, cancellationToken);
            if (report.Failed.Count > 0)
            {
                Spectre.Console.AnsiConsole.MarkupLineInterpolated(
                    $"[yellow]{report.Failed.Count} tenant(s) failed to migrate; serving anyway (see the migrate verb).[/]");
            }
        }

        BackupRecurringJobs.Register(host.Services.GetRequiredService<Hangfire.IRecurringJobManager>(),
            host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BackupOptions>>().Value);
        DatabaseSizeJob.Register(host.Services.GetRequiredService<Hangfire.IRecurringJobManager>());
        CleanCrm.Infrastructure.Identity.EmailVerificationReminderJob.Register(
            host.Services.GetRequiredService<Hangfire.IRecurringJobManager>());
        CleanCrm.Infrastructure.Integrations.TokenRefreshJob.Register(host.Services.GetRequiredService<Hangfire.IRecurringJobManager>());
        CleanCrm.Infrastructure.Integrations.Webhooks.GoogleChannelRenewalJob.Register(
            host.Services.GetRequiredService<Hangfire.IRecurringJobManager>());
        CleanCrm.Infrastructure.Integrations.Webhooks.WebhookInboxSweepJob.Register(
            host.Services.GetRequiredService<Hangfire.IRecurringJobManager>());
        CleanCrm.Infrastructure.Workflows.OutboxMaintenanceScheduleJob.Register(
            host.Services.GetRequiredService<Hangfire.IRecurringJobManager>());
        await host.RunAsync(cancellationToken);
        return 0;
    }
}
