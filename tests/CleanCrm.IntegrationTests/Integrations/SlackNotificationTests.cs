using System.Net;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.IntegrationTests.Support;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>Slack notifications: chat.postMessage judged by <c>ok</c>, Slack's 429 Retry-After honoured by a later job.</summary>
[Collection(PlatformCollection.Name)]
public sealed class SlackNotificationTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_rate_limited_post_is_scheduled_after_retry_after_and_ok_false_is_an_error_not_a_success()
    {
        var host = await platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        (await host.ConnectAsync(host.Api.ClientFor(owner.Id, organization.Slug), "slack")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var job = host.Api.Services.GetRequiredService<SlackNotificationJob>();
        var monitoring = host.Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var text = $"Deal won: Customer rollout {Guid.NewGuid():N}";

        host.Providers.QueueSlackAnswers("429", "ok");
        var limited = await job.RunAsync(organization.Id, text, 1, CancellationToken.None);
        limited.Sent.ShouldBeFalse();
        limited.RetryAfter.ShouldBe(TimeSpan.FromSeconds(30));
        var scheduled = monitoring.ScheduledJobs(0, 1000).Select(j => j.Value)
            .SingleOrDefault(j => j.Job?.Type == typeof(SlackNotificationJob) && j.Job.Args.Contains(text));
        scheduled.ShouldNotBeNull("the post is scheduled again instead of retried at once");
        (scheduled.EnqueueAt - DateTime.UtcNow).ShouldBeGreaterThan(TimeSpan.FromSeconds(20));
        scheduled.Job!.Args[2].ShouldBe(2);

        // What the scheduled job does when its time comes.
        var sent = await job.RunAsync(organization.Id, text, 2, CancellationToken.None);
        sent.Sent.ShouldBeTrue();
        var posts = host.Providers.Calls.Where(c => c.Path == "/slack/api/chat.postMessage").ToList();
        posts.Count.ShouldBeGreaterThanOrEqualTo(2);
        posts[^1].Authorization!.ShouldStartWith("Bearer xoxe.xoxb-");

        host.Providers.QueueSlackAnswers("channel_not_found");
        var refused = await job.RunAsync(organization.Id, text, 1, CancellationToken.None);
        refused.Sent.ShouldBeFalse();
        refused.Error.ShouldBe("channel_not_found");
        await using (var db = await platform.CatalogAsync())
        {
            var connection = await db.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "slack");
            connection.LastError.ShouldBe("chat.postMessage: channel_not_found");
            connection.Status.ShouldBe(IntegrationStatuses.Connected);
        }

        host.Providers.QueueSlackAnswers("invalid_auth");
        (await job.RunAsync(organization.Id, text, 1, CancellationToken.None)).Error.ShouldBe("invalid_auth");
        await using var after = await platform.CatalogAsync();
        (await after.IntegrationConnections.AsNoTracking().SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "slack"))
            .Status.ShouldBe(IntegrationStatuses.NeedsReauth);
    }
}
