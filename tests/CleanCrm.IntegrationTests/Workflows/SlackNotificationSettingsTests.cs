using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Workflows;
using CleanCrm.IntegrationTests.Integrations;
using CleanCrm.IntegrationTests.Support;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Workflows;

/// <summary>Slack notifications as the second consumer of the outbox, posted through the existing chat.postMessage job.</summary>
[Collection(PlatformCollection.Name)]
public sealed class SlackNotificationSettingsTests(SharedPlatform platform)
{
    private static List<string> QueuedTexts(IntegrationsHost host, Guid organizationId) =>
    [
        .. host.Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi()
            .EnqueuedJobs(HangfireStorage.DefaultQueue, 0, 10000).Select(j => j.Value.Job)
            .Where(j => j?.Type == typeof(SlackNotificationJob) && Equals(j.Args[0], organizationId))
            .Select(j => (string)j!.Args[1]),
    ];

    [Fact]
    public async Task Only_the_chosen_deal_events_are_posted_to_Slack_once_each()
    {
        var host = await platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        (await host.ConnectAsync(client, "slack")).StatusCode.ShouldBe(HttpStatusCode.Redirect);

        var initial = await client.GetFromJsonAsync<JsonElement>("/api/v1/integrations/slack/settings");
        initial.GetProperty("events").GetArrayLength().ShouldBe(0);
        initial.GetProperty("supported").EnumerateArray().Select(e => e.GetString())
            .ShouldBe(["deal.won", "deal.lost", "deal.stage_changed", "task.overdue", "meeting.summarized"]);
        var bad = await client.PutAsJsonAsync("/api/v1/integrations/slack/settings", new { events = new[] { "deal.won", "deal.bogus" } });
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadAsStringAsync()).ShouldContain("deal.bogus");
        (await client.PutAsJsonAsync("/api/v1/integrations/slack/settings", new { })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/integrations/slack/settings")).GetProperty("events").GetArrayLength()
            .ShouldBe(0, "a refused update changes nothing");
        var saved = await client.PutAsJsonAsync("/api/v1/integrations/slack/settings",
            new { events = new[] { "deal.won", "deal.stage_changed", "deal.won" } });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray().Select(e => e.GetString())
            .ShouldBe(["deal.stage_changed", "deal.won"]);

        var stages = (await client.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items")[0].GetProperty("stages")
            .EnumerateArray().ToList();
        var first = stages[0].GetProperty("name").GetString();
        var won = stages.First(s => s.GetProperty("kind").GetString() == "won");
        var lost = stages.First(s => s.GetProperty("kind").GetString() == "lost");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var winner = await OrgScopedEndpoints.CreateAsync(client, "deals",
            new { name = $"Rollout {suffix}", amount = 123456, currency = "EUR" });
        var loser = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = $"Pilot {suffix}" });
        (await client.PostAsJsonAsync($"/api/v1/deals/{winner}/move", new { stageId = won.GetProperty("id").GetGuid() })).StatusCode
            .ShouldBe(HttpStatusCode.OK);
        (await client.PostAsJsonAsync($"/api/v1/deals/{loser}/move", new { stageId = lost.GetProperty("id").GetGuid() })).StatusCode
            .ShouldBe(HttpStatusCode.OK);

        var dispatcher = host.Api.Services.GetRequiredService<DomainEventDispatchJob>();
        await dispatcher.DispatchAsync(organization.Id, CancellationToken.None);
        await dispatcher.DispatchAsync(organization.Id, CancellationToken.None);
        // deal.created and deal.lost were not chosen; the second dispatch queued nothing again.
        var texts = QueuedTexts(host, organization.Id);
        texts.Order().ToList().ShouldBe(
        [
            $"Deal moved: Pilot {suffix} from {first} to {lost.GetProperty("name").GetString()}",
            $"Deal moved: Rollout {suffix} from {first} to {won.GetProperty("name").GetString()}",
            $"Deal won: Rollout {suffix} (1,234.56 EUR)",
        ]);

        // What the queued job does: the existing chat.postMessage path, to the channel chosen at consent.
        var job = host.Api.Services.GetRequiredService<SlackNotificationJob>();
        var wonText = texts.Single(t => t.StartsWith("Deal won", StringComparison.Ordinal));
        host.Providers.QueueSlackAnswers("ok");
        (await job.RunAsync(organization.Id, wonText, 1, CancellationToken.None)).Sent.ShouldBeTrue();
        host.Providers.Server.LogEntries.ShouldContain(e => e.RequestMessage.Path == "/slack/api/chat.postMessage"
            && e.RequestMessage.Body!.Contains(wonText, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_slack_integration_the_settings_are_403_feature_disabled()
    {
        var host = await platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        foreach (var response in new[]
                 {
                     await client.GetAsync("/api/v1/integrations/slack/settings"),
                     await client.PutAsJsonAsync("/api/v1/integrations/slack/settings", new { events = new[] { "deal.won" } }),
                 })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await response.Content.ReadAsStringAsync()).ShouldContain("feature_disabled");
        }
    }
}
