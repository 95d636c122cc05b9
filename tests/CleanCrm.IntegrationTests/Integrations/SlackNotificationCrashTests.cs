using System.Net;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.IntegrationTests.Support;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>
/// Found by the fault suite (docs/reliability.md, scenario 1, Slack): a worker killed after Slack had answered
/// <c>"ok": true</c> but before Hangfire recorded the job as succeeded left the job to be handed out again after the
/// invisibility timeout, and that delivery posted the message a second time. The job now records the post on itself
/// (a job parameter, its own commit) right after Slack's answer, and a delivery of a job that posted returns at once.
/// No worker runs here: each delivery is the job performed with a context of the same stored job, as Hangfire's worker
/// would after a crash; Slack is the WireMock stub on its wire format.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SlackNotificationCrashTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_message_slack_accepted_is_recorded_on_its_job_so_a_delivery_after_a_crash_does_not_post_it_again()
    {
        var host = await platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        (await host.ConnectAsync(host.Api.ClientFor(owner.Id, organization.Slug), "slack")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var storage = host.Api.Services.GetRequiredService<JobStorage>();
        var job = host.Api.Services.GetRequiredService<SlackNotificationJob>();
        var text = $"Deal won: Crash {Guid.NewGuid():N}";
        int Posts(string expected) => host.Providers.Server.LogEntries.Count(e => e.RequestMessage.Path == "/slack/api/chat.postMessage"
            && e.RequestMessage.Body!.Contains(expected, StringComparison.Ordinal));

        // Queued as the outbox consumer queues it; Hangfire hands the job its own context in place of the null argument.
        var jobId = Queue(host, organization.Id, text);
        using var connection = storage.GetConnection();
        var stored = connection.GetJobData(jobId);
        stored.Job.Method.GetParameters().ShouldContain(p => p.ParameterType == typeof(PerformContext));
        PerformContext Delivery() => new(storage, connection, new BackgroundJob(jobId, stored.Job, stored.CreatedAt),
            new JobCancellationToken(false));

        // The first delivery posts and records it; the worker then dies before Hangfire marks the job succeeded.
        host.Providers.QueueSlackAnswers("ok");
        (await job.RunAsync(organization.Id, text, 1, Delivery(), CancellationToken.None)).Sent.ShouldBeTrue();
        connection.GetJobParameter(jobId, SlackNotificationJob.PostedParameter).ShouldNotBeNullOrEmpty();
        Posts(text).ShouldBe(1);

        // The same job handed out again after the invisibility timeout: nothing is posted a second time.
        (await job.RunAsync(organization.Id, text, 1, Delivery(), CancellationToken.None)).Sent.ShouldBeTrue();
        Posts(text).ShouldBe(1);

        // The record is the job's, not the text's: another event with the same line is another message.
        var second = Queue(host, organization.Id, text);
        var secondData = connection.GetJobData(second);
        (await job.RunAsync(organization.Id, text, 1,
                new PerformContext(storage, connection, new BackgroundJob(second, secondData.Job, secondData.CreatedAt),
                    new JobCancellationToken(false)), CancellationToken.None))
            .Sent.ShouldBeTrue();
        Posts(text).ShouldBe(2);

        // A post Slack did not accept is not recorded: the job's retry posts it.
        var refusedText = $"Deal lost: Crash {Guid.NewGuid():N}";
        var refused = Queue(host, organization.Id, refusedText);
        var refusedData = connection.GetJobData(refused);
        PerformContext RefusedDelivery() => new(storage, connection, new BackgroundJob(refused, refusedData.Job, refusedData.CreatedAt),
            new JobCancellationToken(false));
        host.Providers.QueueSlackAnswers("500");
        (await job.RunAsync(organization.Id, refusedText, 1, RefusedDelivery(), CancellationToken.None)).Sent.ShouldBeFalse();
        connection.GetJobParameter(refused, SlackNotificationJob.PostedParameter).ShouldBeNullOrEmpty();
        host.Providers.QueueSlackAnswers("ok");
        (await job.RunAsync(organization.Id, refusedText, 1, RefusedDelivery(), CancellationToken.None)).Sent.ShouldBeTrue();
        Posts(refusedText).ShouldBe(2);
    }

    private static string Queue(IntegrationsHost host, Guid organizationId, string text)
    {
        var known = EnqueuedIds(host, organizationId, text);
        SlackNotificationJob.Enqueue(host.Api.Services, organizationId, text);
        return EnqueuedIds(host, organizationId, text).Except(known).ShouldHaveSingleItem();
    }

    private static List<string> EnqueuedIds(IntegrationsHost host, Guid organizationId, string text) =>
    [
        .. host.Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi()
            .EnqueuedJobs(HangfireStorage.DefaultQueue, 0, 10000)
            .Where(j => j.Value.Job?.Type == typeof(SlackNotificationJob) && Equals(j.Value.Job.Args[0], organizationId)
                && Equals(j.Value.Job.Args[1], text))
            .Select(j => j.Key),
    ];
}
