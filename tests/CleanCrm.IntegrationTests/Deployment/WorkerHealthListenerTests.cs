using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Provisioning.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Deployment;

/// <summary>
/// The job server's health listener (<c>CleanCrm:Worker:HealthUrls</c>, docs/DEPLOYMENT.md "Kubernetes"): the real worker host
/// in-process on the platform's catalog, probed over HTTP on a real port.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class WorkerHealthListenerTests(SharedPlatform platform)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Serve_answers_live_at_once_and_ready_once_its_job_server_has_announced_itself()
    {
        await using var worker = await WorkerHostRunner.StartAsync(platform,
            new Dictionary<string, string> { [WorkerHealthListener.UrlsSetting] = "http://127.0.0.1:0" });
        var address = Address(worker);

        (await Http.GetAsync($"{address}/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var ready = await PollAsync($"{address}/health/ready", HttpStatusCode.OK);
        ready.GetProperty("checks").GetProperty("catalog").GetProperty("status").GetString().ShouldBe("Healthy");
        ready.GetProperty("checks").GetProperty("job-server").GetProperty("status").GetString().ShouldBe("Healthy");
        (await Http.GetAsync($"{address}/jobs")).StatusCode.ShouldBe(HttpStatusCode.NotFound, "it serves health and nothing else");
    }

    [Fact]
    public async Task Ready_fails_when_the_job_server_heartbeat_is_older_than_allowed()
    {
        // Hangfire heartbeats every 30 s, so a 1 s allowance goes stale right after the server announces itself.
        await using var worker = await WorkerHostRunner.StartAsync(platform, new Dictionary<string, string>
        {
            [WorkerHealthListener.UrlsSetting] = "http://127.0.0.1:0",
            [WorkerHealthListener.HeartbeatMaxAgeSetting] = "1",
        });

        var ready = await PollAsync($"{Address(worker)}/health/ready", HttpStatusCode.ServiceUnavailable,
            report => report.GetProperty("checks").GetProperty("job-server").GetProperty("description").GetString()!.Contains("ago"));
        ready.GetProperty("status").GetString().ShouldBe("Unhealthy");
        ready.GetProperty("checks").GetProperty("catalog").GetProperty("status").GetString().ShouldBe("Healthy");
    }

    [Fact]
    public void No_listener_without_the_setting_and_none_for_the_operator_verbs()
    {
        var args = platform.Settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}").Append("--environment=Testing")
            .ToArray();
        string[] withUrls = [.. args, $"--{WorkerHealthListener.UrlsSetting}=http://127.0.0.1:0"];

        using (var serve = WorkerHost.CreateBuilder(args, runJobServer: true).Build())
        {
            serve.Services.GetService<WorkerHealthListener>().ShouldBeNull();
        }

        using (var verb = WorkerHost.CreateBuilder(withUrls, runJobServer: false).Build())
        {
            verb.Services.GetService<WorkerHealthListener>().ShouldBeNull();
        }

        using var configured = WorkerHost.CreateBuilder(withUrls, runJobServer: true).Build();
        configured.Services.GetService<WorkerHealthListener>().ShouldNotBeNull("the check above can fail");
    }

    private static string Address(WorkerHostRunner worker) =>
        worker.Services.GetRequiredService<WorkerHealthListener>().Addresses.ShouldHaveSingleItem().TrimEnd('/');

    private static async Task<JsonElement> PollAsync(string url, HttpStatusCode expected, Func<JsonElement, bool>? also = null)
    {
        var deadline = Stopwatch.StartNew();
        var last = string.Empty;
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var response = await Http.GetAsync(url);
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.StatusCode == expected)
            {
                var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (also is null || also(report))
                {
                    return report;
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{url} did not answer {(int)expected} within 30 s; last answer: {last}");
    }
}
