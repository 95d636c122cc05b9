using CleanCrm.Application;
using CleanCrm.Application.Common.Security;
using CleanCrm.Infrastructure;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Observability;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Secrets;
using Hangfire;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace CleanCrm.Provisioning.Worker;

/// <summary>Builds the worker's host: the same Application/Infrastructure registrations as the API, acting as the system.</summary>
public static class WorkerHost
{
    /// <summary>This process's Hangfire server name (Hangfire appends an id); the health listener finds its heartbeat by it.</summary>
    public static readonly string ServerName = $"cleancrm-worker:{Environment.MachineName}:{Environment.ProcessId}";

    public static HostApplicationBuilder CreateBuilder(string[] args, bool runJobServer)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration.AddCleanCrmKeyVaultSecrets();
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .WriteToCleanCrmSinks(builder.Configuration, "cleancrm-worker"));
        // Job spans continue the trace of the request that queued them; metrics leave over OTLP (docs/OBSERVABILITY.md).
        builder.Services.AddCleanCrmTelemetry(builder.Configuration, "cleancrm-worker", publishCatalogGauges: false);
        builder.Services.AddApplication(builder.Configuration);
        builder.Services.AddInfrastructure(builder.Configuration);
        builder.Services.AddSingleton<ICallerContext, SystemCallerContext>();
        // The platform audit log's "from where" for work done here: the job server or an operator's CLI verb on this machine.
        builder.Services.AddSingleton<IRequestOrigin>(new FixedRequestOrigin(
            runJobServer ? FixedRequestOrigin.Job : FixedRequestOrigin.Cli,
            UserAgent: $"cleancrm-worker ({Environment.UserName}@{Environment.MachineName})"));

        var catalog = builder.Configuration.GetConnectionString("Catalog") ?? string.Empty;
        var pollInterval = TimeSpan.FromMilliseconds(builder.Configuration.GetValue("CleanCrm:Jobs:QueuePollIntervalMs", 1000));
        builder.Services.AddHangfire(configuration => configuration.UseCatalogStorage(catalog, pollInterval));
        if (runJobServer)
        {
            builder.Services.AddHostedService<ProvisioningOutboxSweeper>();
            builder.Services.AddHostedService<WarmPoolRefiller>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<CleanCrm.Infrastructure.Email.EmailOutboxSweeper>());
            builder.Services.AddHostedService<CleanCrm.Infrastructure.Billing.BillingJobScheduler>();
            builder.Services.AddHangfireServer(options =>
            {
                options.ServerName = ServerName;
                options.Queues = [HangfireStorage.ProvisioningQueue, HangfireStorage.DefaultQueue, HangfireStorage.MaintenanceQueue];
                // Provisioning waits on PostgreSQL (CREATE DATABASE, DDL), not CPU, so more workers than cores keep signups flowing.
                options.WorkerCount =
                    builder.Configuration.GetValue("CleanCrm:Jobs:WorkerCount", Math.Max(10, Environment.ProcessorCount * 4));
            });
            if (WorkerHealthListener.Urls(builder.Configuration).Length > 0)
            {
                builder.Services.AddSingleton<WorkerHealthListener>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerHealthListener>());
            }
        }

        return builder;
    }
}
