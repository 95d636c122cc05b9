using CleanCrm.Provisioning.Worker;
using CleanCrm.Testing;
using Microsoft.Extensions.Hosting;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>The real worker host (Hangfire server + outbox sweeper) running in-process on a platform's catalog.</summary>
public sealed class WorkerHostRunner : IAsyncDisposable
{
    private readonly IHost _host;

    private WorkerHostRunner(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public static async Task<WorkerHostRunner> StartAsync(PlatformEnvironment platform, IDictionary<string, string>? overrides = null)
    {
        var args = platform.Settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}")
            .Concat((overrides ?? new Dictionary<string, string>()).Select(s => $"--{s.Key}={s.Value}"))
            .Append("--environment=Testing")
            .ToArray();
        var host = WorkerHost.CreateBuilder(args, runJobServer: true).Build();
        await host.StartAsync();
        return new WorkerHostRunner(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
