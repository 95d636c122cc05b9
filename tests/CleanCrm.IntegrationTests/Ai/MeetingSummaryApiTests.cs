using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Workflows;
using CleanCrm.IntegrationTests.Integrations;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Ai;

/// <summary>
/// <c>POST /api/v1/meetings/{id}/summary</c>: summary and action items from the transcript through the OpenAI-compatible
/// stub, action items → smart tasks with <c>smart_tasks</c>, once per meeting, and <c>meeting.summarized</c> through the
/// outbox to Slack (docs/AI.md, "Meeting summaries"; docs/WORKFLOWS.md).
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class MeetingSummaryApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private AiIntegrationsHost _host = null!;

    private OpenAiStub Stub => _host.Stub;

    private ApiFactory Api => _host.Api;

    public async Task InitializeAsync() => _host = await AiIntegrationsHost.SharedAsync(platform);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_transcript_becomes_a_summary_and_smart_tasks_once_and_raises_meeting_summarized()
    {
        var seller = $"seller-{Guid.NewGuid():N}@cleancrm.example";
        var owner = await platform.CreateUserAsync(seller, "Sam Seller");
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = Api.ClientFor(owner.Id, org.Slug);
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Rollout" });
        var trigger = Trigger();
        var meeting = await OrgScopedEndpoints.CreateAsync(client, "meetings", new
        {
            title = "Kick-off",
            startsAt = "2026-11-02T10:00:00Z",
            dealId = deal,
            transcript = $"[00:00:01] Ada: {trigger} We need SSO by March. [00:00:09] Sam: I will send the security docs.",
            attendees = new[] { new { email = seller, name = "Sam Seller" } },
        });
        Stub.Script(trigger, Answer("**SSO** is required by March.", ("Send the security docs", seller), ("Book the SSO workshop", null)));

        var response = await client.PostAsync($"/api/v1/meetings/{meeting}/summary", null);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, result.ToString());
        result.GetProperty("meeting").GetProperty("summary").GetString().ShouldBe("**SSO** is required by March.");
        result.GetProperty("meeting").GetProperty("summarizedAt").ValueKind.ShouldBe(JsonValueKind.String);
        result.GetProperty("actionItems").EnumerateArray().Select(a => a.GetString())
            .ShouldBe(["Send the security docs", "Book the SSO workshop"]);
        var taskIds = result.GetProperty("taskIds").EnumerateArray().Select(t => t.GetGuid()).ToList();
        taskIds.Count.ShouldBe(2);
        var first = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskIds[0]}");
        first.GetProperty("title").GetString().ShouldBe("Send the security docs");
        first.GetProperty("assigneeId").GetGuid().ShouldBe(owner.Id);
        first.GetProperty("dealId").GetGuid().ShouldBe(deal);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM tasks WHERE origin = 'smart'")).ShouldBe(2);
        (await client.GetFromJsonAsync<JsonElement>($"/api/v1/meetings/{meeting}")).GetProperty("summary").GetString()
            .ShouldBe("**SSO** is required by March.");
        (await PlatformEnvironment.CountRowsAsync(org,
            $"SELECT count(*) FROM domain_events WHERE type = 'meeting.summarized' AND entity_id = '{meeting}' "
            + "AND data->>'transcript' IS NULL AND data->>'summary' LIKE '%SSO%'")).ShouldBe(1);

        // The prompt held this meeting's transcript, and the call was metered.
        var sent = Stub.RequestsFor(trigger).ShouldHaveSingleItem();
        sent["response_format"]!["type"]!.GetValue<string>().ShouldBe("json_object");
        (await UsageAsync(client)).ShouldBe(OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens);

        // Once per meeting: a second request is a conflict and neither calls the model nor makes tasks.
        (await Problem.ReadAsync(await client.PostAsync($"/api/v1/meetings/{meeting}/summary", null), HttpStatusCode.Conflict)).Code
            .ShouldBe("meeting_already_summarized");
        Stub.RequestsFor(trigger).Count.ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM tasks")).ShouldBe(2);
    }

    [Fact]
    public async Task Without_smart_tasks_the_summary_makes_no_tasks_and_bad_targets_are_4xx()
    {
        var owner = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var other = await platform.CreateOrganizationAsync(members: [(stranger, OrgRole.Owner)], plan: Plan.Pro);
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        using var adminClient = Api.CreateClient();
        adminClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        (await adminClient.PutAsJsonAsync($"/api/v1/admin/organizations/{org.Id}/features/smart_tasks", new { enabled = false }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var client = Api.ClientFor(owner.Id, org.Slug);
        var trigger = Trigger();
        var meeting = await OrgScopedEndpoints.CreateAsync(client, "meetings",
            new { title = "Demo", startsAt = "2026-11-03T10:00:00Z", transcript = $"{trigger} Ada: send me the pricing." });
        var bare = await OrgScopedEndpoints.CreateAsync(client, "meetings",
            new { title = "No recording", startsAt = "2026-11-03T12:00:00Z" });
        Stub.Script(trigger, "```json\n" + Answer("Pricing was asked for.", ("Send the pricing", null)) + "\n```");

        var response = await client.PostAsync($"/api/v1/meetings/{meeting}/summary", null);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, result.ToString());
        result.GetProperty("meeting").GetProperty("summary").GetString().ShouldBe("Pricing was asked for.");
        result.GetProperty("actionItems").GetArrayLength().ShouldBe(1);
        result.GetProperty("taskIds").GetArrayLength().ShouldBe(0);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM tasks")).ShouldBe(0);

        (await Problem.ReadAsync(await client.PostAsync($"/api/v1/meetings/{bare}/summary", null), HttpStatusCode.Conflict)).Code
            .ShouldBe("meeting_has_no_transcript");
        var unknown = Guid.NewGuid();
        (await Problem.ReadAsync(await client.PostAsync($"/api/v1/meetings/{unknown}/summary", null), HttpStatusCode.NotFound))
            .Detail.ShouldContain(unknown.ToString());
        // Another org's meeting id is not found there; its org-bound client is refused here.
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, other.Slug).PostAsync($"/api/v1/meetings/{meeting}/summary", null),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, org.Slug, orgClaim: other.Id, role: "admin")
            .PostAsync($"/api/v1/meetings/{bare}/summary", null), HttpStatusCode.Forbidden);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM meetings WHERE summary IS NOT NULL")).ShouldBe(1);

        // A model answer that is not the JSON asked for stores nothing.
        var garbled = Trigger();
        var third = await OrgScopedEndpoints.CreateAsync(client, "meetings",
            new { title = "Garbled", startsAt = "2026-11-04T10:00:00Z", transcript = $"{garbled} hello" });
        Stub.Script(garbled, "Sure! Here is a summary: it went well.");
        (await Problem.ReadAsync(await client.PostAsync($"/api/v1/meetings/{third}/summary", null), HttpStatusCode.ServiceUnavailable))
            .Code.ShouldBe("ai_invalid_answer");
        (await PlatformEnvironment.CountRowsAsync(org, $"SELECT count(*) FROM meetings WHERE id = '{third}' AND summary IS NULL"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task A_summarized_meeting_is_posted_to_Slack_through_the_outbox_when_the_org_chose_it()
    {
        var owner = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = Api.ClientFor(owner.Id, org.Slug);
        (await _host.Integrations.ConnectAsync(client, "slack")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var saved = await client.PutAsJsonAsync("/api/v1/integrations/slack/settings", new { events = new[] { "meeting.summarized" } });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        var trigger = Trigger();
        var title = $"Quarterly review {trigger[..8]}";
        var meeting = await OrgScopedEndpoints.CreateAsync(client, "meetings", new
        {
            title,
            startsAt = "2026-11-05T10:00:00Z",
            location = "https://fathom.example/share/abc",
            transcript = $"{trigger} All good.",
        });
        Stub.Script(trigger, Answer("All good."));
        (await client.PostAsync($"/api/v1/meetings/{meeting}/summary", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var dispatcher = Api.Services.GetRequiredService<DomainEventDispatchJob>();
        await dispatcher.DispatchAsync(org.Id, CancellationToken.None);
        await dispatcher.DispatchAsync(org.Id, CancellationToken.None);
        var expected = $"New meeting summary: {title} — https://fathom.example/share/abc";
        QueuedSlackTexts(org.Id).ShouldBe([expected], "the meeting's creation is not chosen; the summary is posted once");

        _host.Integrations.Providers.QueueSlackAnswers("ok");
        (await Api.Services.GetRequiredService<SlackNotificationJob>().RunAsync(org.Id, expected, 1, CancellationToken.None)).Sent
            .ShouldBeTrue();
        _host.Integrations.Providers.Server.LogEntries.ShouldContain(e => e.RequestMessage.Path == "/slack/api/chat.postMessage"
            && e.RequestMessage.Body!.Contains(title, StringComparison.Ordinal));
    }

    private List<string> QueuedSlackTexts(Guid organizationId) =>
    [
        .. Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi()
            .EnqueuedJobs(HangfireStorage.DefaultQueue, 0, 10000).Select(j => j.Value.Job)
            .Where(j => j?.Type == typeof(SlackNotificationJob) && Equals(j.Args[0], organizationId))
            .Select(j => (string)j!.Args[1]),
    ];

    [Fact]
    public async Task A_provider_slower_than_its_timeout_is_a_503_with_retry_after_within_the_bound_and_stores_nothing()
    {
        // docs/reliability.md, scenario 5e (a provider answering after 30 s): here 8 s against a 5 s timeout and one retry.
        using var slow = new IntegrationsHost(platform, new Dictionary<string, string?>
        {
            ["CleanCrm:Ai:Endpoint"] = Stub.Endpoint,
            ["CleanCrm:Ai:Model"] = OpenAiStub.Model,
            ["CleanCrm:Ai:ApiKey"] = OpenAiStub.ApiKey,
            ["CleanCrm:Ai:RequestTimeoutSeconds"] = "5",
            ["CleanCrm:Ai:MaxRetries"] = "1",
        });
        var owner = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = slow.Api.ClientFor(owner.Id, org.Slug);
        var trigger = Trigger();
        var meeting = await OrgScopedEndpoints.CreateAsync(client, "meetings",
            new { title = "Slow provider", startsAt = "2026-11-05T10:00:00Z", transcript = $"{trigger} hello" });
        Stub.Script(trigger, Answer("Too late."), delay: TimeSpan.FromSeconds(8));

        var watch = Stopwatch.StartNew();
        var response = await client.PostAsync($"/api/v1/meetings/{meeting}/summary", null);
        watch.Stop();

        (await Problem.ReadAsync(response, HttpStatusCode.ServiceUnavailable)).Code.ShouldBe("ai_provider_failed");
        response.Headers.RetryAfter.ShouldNotBeNull();
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(((1 + 1) * 5) + 6), "(MaxRetries + 1) x RequestTimeoutSeconds plus backoff");
        Stub.RequestsFor(trigger).Count.ShouldBeInRange(1, 2, "at most one attempt and one retry, each abandoned after the timeout");
        (await PlatformEnvironment.CountRowsAsync(org, $"SELECT count(*) FROM meetings WHERE id = '{meeting}' AND summary IS NULL"))
            .ShouldBe(1);
        (await UsageAsync(client)).ShouldBe(0, "the reservation is released when the provider fails");

        // Fast again: the same meeting is summarized.
        Stub.Script(trigger, Answer("In time."));
        var again = await client.PostAsync($"/api/v1/meetings/{meeting}/summary", null);
        again.StatusCode.ShouldBe(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
    }

    private static string Answer(string summary, params (string Description, string? Assignee)[] items) => new JsonObject
    {
        ["summary"] = summary,
        ["actionItems"] = new JsonArray([.. items.Select(i => (JsonNode)new JsonObject
        {
            ["description"] = i.Description,
            ["assigneeEmail"] = i.Assignee,
        })]),
    }.ToJsonString();

    private static string Trigger() => $"t{Guid.NewGuid():N}";

    private static async Task<long> UsageAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements"))
            .GetProperty("usage").GetProperty("aiTokens").GetInt64();
}
