using System.Text.Json;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Provisioning.Worker;

/// <summary>
/// The job server's HTTP health endpoints for container orchestrators (docs/DEPLOYMENT.md): <c>/health/live</c> (the process
/// answers) and <c>/health/ready</c> (the catalog answers and is migrated, and this process's Hangfire server has sent a
/// recent heartbeat). Only <c>serve</c> starts it, and only when <c>CleanCrm:Worker:HealthUrls</c> is set; the operator
/// verbs never listen on a port.
/// </summary>
public sealed class WorkerHealthListener(IServiceProvider services, IConfiguration configuration) : IHostedService, IAsyncDisposable
{
    public const string UrlsSetting = "CleanCrm:Worker:HealthUrls";
    public const string HeartbeatMaxAgeSetting = "CleanCrm:Worker:HeartbeatMaxAgeSeconds";

    private WebApplication? _app;

    /// <summary>The addresses actually bound (a configured port 0 is resolved), once started.</summary>
    public IReadOnlyList<string> Addresses => _app is null ? [] : [.. _app.Urls];

    /// <summary>The configured listen URLs (separated by <c>;</c>, like <c>ASPNETCORE_URLS</c>); empty = no listener.</summary>
    public static string[] Urls(IConfiguration configuration) =>
        (configuration[UrlsSetting] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(Urls(configuration));
        // Kestrel's own messages go through the worker's logger (Serilog JSON), not a second console logger.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(services.GetRequiredService<ILoggerFactory>());
        var maxAge = TimeSpan.FromSeconds(configuration.GetValue(HeartbeatMaxAgeSetting, 120));
        builder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration("catalog",
                _ => ActivatorUtilities.CreateInstance<CatalogHealthCheck>(services), HealthStatus.Unhealthy, ["ready"]))
            .Add(new HealthCheckRegistration("job-server",
                _ => new JobServerHeartbeatHealthCheck(services.GetRequiredService<JobStorage>(), WorkerHost.ServerName, maxAge),
                HealthStatus.Unhealthy, ["ready"]));

        _app = builder.Build();
        _app.UseHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        _app.UseHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = WriteReportAsync,
        });
        _app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await _app.StartAsync(cancellationToken);
    }

    /// <summary>Which check failed and why, for an operator's <c>curl</c> or <c>kubectl describe</c> (no secrets in it).</summary>
    private static Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>
/// Ready while this process's Hangfire server (named <paramref name="serverName"/>; Hangfire appends an id) has a heartbeat
/// younger than <paramref name="maxAge"/>: a server that stopped heartbeating no longer picks up jobs.
/// </summary>
internal sealed class JobServerHeartbeatHealthCheck(JobStorage storage, string serverName, TimeSpan maxAge) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var heartbeat = storage.GetMonitoringApi().Servers()
                .Where(s => s.Name.StartsWith(serverName + ":", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(s.Name, serverName, StringComparison.OrdinalIgnoreCase))
                .Select(s => s.Heartbeat)
                .Max();
            if (heartbeat is null)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy("The job server has not announced itself yet."));
            }

            var age = DateTime.UtcNow - DateTime.SpecifyKind(heartbeat.Value, DateTimeKind.Utc);
            return Task.FromResult(age <= maxAge
                ? HealthCheckResult.Healthy($"Job server heartbeat {age.TotalSeconds:0} s ago.")
                : HealthCheckResult.Unhealthy($"Job server heartbeat {age.TotalSeconds:0} s ago (more than {maxAge.TotalSeconds:0} s)."));
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The job storage is unreachable.", exception));
        }
    }
}
