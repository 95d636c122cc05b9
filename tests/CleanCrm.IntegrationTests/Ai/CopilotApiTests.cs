using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.IntegrationTests.Ai;

/// <summary>
/// <c>POST /api/v1/copilot/messages</c> and the conversation routes against the real API, tenant databases and an
/// OpenAI-compatible <see cref="OpenAiStub"/>: tools run as the caller in the caller's org, tokens are metered against
/// the plan before each call, conversations are private to their user (docs/AI.md).
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class CopilotApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private sealed class AiHost : IDisposable
    {
        public required OpenAiStub Stub { get; init; }
        public required ApiFactory Api { get; init; }

        public void Dispose()
        {
            Api.Dispose();
            Stub.Dispose();
        }
    }

    private AiHost _host = null!;

    private OpenAiStub Stub => _host.Stub;

    private ApiFactory Api => _host.Api;

    public async Task InitializeAsync() => _host = await platform.SharedAsync("ai-host", () =>
    {
        var stub = new OpenAiStub();
        return Task.FromResult(new AiHost
        {
            Stub = stub,
            Api = new ApiFactory(platform, new Dictionary<string, string?>
            {
                ["CleanCrm:Ai:Endpoint"] = stub.Endpoint,
                ["CleanCrm:Ai:Model"] = OpenAiStub.Model,
                ["CleanCrm:Ai:ApiKey"] = OpenAiStub.ApiKey,
                // Each reservation is then a little over 2,000 tokens (the output cap + the estimated prompt).
                ["CleanCrm:Ai:MaxOutputTokens"] = "2000",
            }),
        });
    });

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_copilot_calls_a_tool_reads_the_orgs_deal_and_streams_its_answer()
    {
        var (_, org, client) = await ProOrgAsync();
        var (_, _, otherClient) = await ProOrgAsync();
        await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Acme rollout", amount = 120_000, currency = "EUR" });
        await OrgScopedEndpoints.CreateAsync(otherClient, "deals", new { name = "Acme secret expansion", amount = 999, currency = "USD" });
        var trigger = Trigger();
        Stub.Script(trigger, "Acme rollout is worth 1,200.00 EUR.", "search_deals", new JsonObject { ["query"] = "Acme" });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/copilot/messages")
        {
            Content = JsonContent.Create(new { message = $"{trigger} How much is the Acme deal worth?" }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var events = ParseEvents(text);

        var tool = events.Single(e => e.Name == "tool").Data;
        tool.GetProperty("name").GetString().ShouldBe("search_deals");
        tool.GetProperty("arguments").GetProperty("query").GetString().ShouldBe("Acme");
        string.Concat(events.Where(e => e.Name == "delta").Select(e => e.Data.GetProperty("text").GetString()))
            .ShouldBe("Acme rollout is worth 1,200.00 EUR.");
        events.Last().Name.ShouldBe("done", text);
        var done = events.Last().Data;
        done.GetProperty("usage").GetProperty("inputTokens").GetInt64().ShouldBe(2 * OpenAiStub.PromptTokens);
        done.GetProperty("usage").GetProperty("outputTokens").GetInt64().ShouldBe(2 * OpenAiStub.CompletionTokens);
        var conversationId = done.GetProperty("conversationId").GetGuid();

        // What the model was sent: the org's own deal from the tool, never the other org's, and the configured key.
        var calls = Stub.RequestsFor(trigger);
        calls.Count.ShouldBe(2);
        calls.ShouldAllBe(c => c["model"]!.GetValue<string>() == OpenAiStub.Model && c["stream"]!.GetValue<bool>());
        var toolResult = OpenAiStub.ToolResults(calls[1]).ShouldHaveSingleItem();
        toolResult.ShouldContain("Acme rollout");
        toolResult.ShouldContain("120000");
        toolResult.ShouldNotContain("secret expansion");
        Stub.Requests.Where(r => OpenAiStub.LastUserText(r.Body).Contains(trigger, StringComparison.Ordinal))
            .ShouldAllBe(r => r.Authorization == $"Bearer {OpenAiStub.ApiKey}");

        var conversation = await client.GetFromJsonAsync<JsonElement>($"/api/v1/copilot/conversations/{conversationId}");
        var messages = conversation.GetProperty("messages");
        messages.GetArrayLength().ShouldBe(2);
        messages[0].GetProperty("role").GetString().ShouldBe("user");
        messages[1].GetProperty("role").GetString().ShouldBe("assistant");
        messages[1].GetProperty("content").GetString().ShouldBe("Acme rollout is worth 1,200.00 EUR.");
        messages[1].GetProperty("inputTokens").GetInt64().ShouldBe(2 * OpenAiStub.PromptTokens);
        (await UsageAsync(client)).ShouldBe(2 * (OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens));
        await using var catalog = await platform.CatalogAsync();
        (await catalog.UsageEvents.Where(e => e.OrganizationId == org.Id).Select(e => e.Quantity).ToListAsync())
            .ShouldBe([OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens, OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens]);
    }

    [Fact]
    public async Task A_tool_call_for_another_orgs_deal_gets_nothing_and_a_follow_up_keeps_the_conversation()
    {
        var (_, _, client) = await ProOrgAsync();
        var (_, _, otherClient) = await ProOrgAsync();
        var foreignDeal = await OrgScopedEndpoints.CreateAsync(otherClient, "deals",
            new { name = "Foreign merger", amount = 5_000_000, currency = "USD" });
        var trigger = Trigger();
        Stub.Script(trigger, "I could not find that deal.", "get_deal", new JsonObject { ["dealId"] = foreignDeal.ToString() });

        var response = await PostJsonAsync(client, new { message = $"{trigger} Tell me about deal {foreignDeal}" });
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, answer.ToString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        answer.GetProperty("content").GetString().ShouldBe("I could not find that deal.");
        answer.GetProperty("toolCalls").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ShouldBe(["get_deal"]);
        var calls = Stub.RequestsFor(trigger);
        calls.Count.ShouldBe(2);
        calls.ShouldAllBe(c => c["stream"] == null || !c["stream"]!.GetValue<bool>());
        var toolResult = OpenAiStub.ToolResults(calls[1]).ShouldHaveSingleItem();
        toolResult.ShouldContain("not found");
        toolResult.ShouldNotContain("Foreign merger");
        toolResult.ShouldNotContain("5000000");

        // A follow-up in the same conversation sends the history back to the model.
        var conversationId = answer.GetProperty("conversationId").GetGuid();
        var followUp = Trigger();
        Stub.Script(followUp, "Nothing more to add.");
        var second = await PostJsonAsync(client, new { conversationId, message = $"{followUp} Anything else?" });
        second.StatusCode.ShouldBe(HttpStatusCode.OK, await second.Content.ReadAsStringAsync());
        var sent = Stub.RequestsFor(followUp).ShouldHaveSingleItem()["messages"]!.AsArray()
            .Select(m => m!["content"]?.ToJsonString() ?? string.Empty).ToList();
        sent.ShouldContain(c => c.Contains("I could not find that deal.", StringComparison.Ordinal));
        (await client.GetFromJsonAsync<JsonElement>($"/api/v1/copilot/conversations/{conversationId}"))
            .GetProperty("messages").GetArrayLength().ShouldBe(4);
    }

    [Fact]
    public async Task Sixteen_parallel_requests_never_spend_more_than_the_allowance()
    {
        var (_, org, client) = await ProOrgAsync();
        const long allowance = 3_000;
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        using var adminClient = Api.CreateClient();
        adminClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        var limited = await adminClient.PutAsJsonAsync($"/api/v1/admin/organizations/{org.Id}/limits",
            new { aiTokensPerMonth = allowance });
        limited.StatusCode.ShouldBe(HttpStatusCode.OK, await limited.Content.ReadAsStringAsync());
        var trigger = Trigger();
        Stub.Script(trigger, "Short answer.");

        // Each call reserves a little over 2,000 tokens and costs 50: two reservations never fit at once, and after at
        // most ten successes not even one does, so some of the sixteen must be refused.
        var responses = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(i => PostJsonAsync(client, new { message = $"{trigger} question {i}" })));
        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        statuses.ShouldAllBe(s => s == 200 || s == 402, string.Join(",", statuses));
        var succeeded = statuses.Count(s => s == 200);
        succeeded.ShouldBeGreaterThanOrEqualTo(1);
        succeeded.ShouldBeLessThanOrEqualTo(10);
        var refused = await Problem.ReadAsync(responses.First(r => r.StatusCode == HttpStatusCode.PaymentRequired),
            HttpStatusCode.PaymentRequired);
        refused.Type.ShouldBe("https://cleancrm.dev/problems/plan_limit_reached");
        refused.Errors!.ShouldContainKey("ai_tokens");

        Stub.RequestsFor(trigger).Count.ShouldBe(succeeded, "a refused request never reaches the model");
        var used = await UsageAsync(client);
        used.ShouldBe(succeeded * (OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens));
        used.ShouldBeLessThanOrEqualTo(allowance);
        await using var catalog = await platform.CatalogAsync();
        (await catalog.UsageEvents.CountAsync(e => e.OrganizationId == org.Id)).ShouldBe(succeeded);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM copilot_conversations")).ShouldBe(succeeded);
    }

    [Fact]
    public async Task A_free_org_gets_feature_disabled_and_a_deployment_without_a_provider_ai_not_configured()
    {
        var owner = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var pro = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var trigger = Trigger();

        var disabled = await Problem.ReadAsync(await PostJsonAsync(Api.ClientFor(owner.Id, free.Slug), new { message = trigger }),
            HttpStatusCode.Forbidden);
        disabled.Type.ShouldBe("https://cleancrm.dev/problems/feature_disabled");
        disabled.Detail.ShouldContain("ai_copilot");
        (await Problem.ReadAsync(await Api.ClientFor(owner.Id, free.Slug).GetAsync("/api/v1/copilot/conversations"),
            HttpStatusCode.Forbidden)).Code.ShouldBe("feature_disabled");

        var unconfigured = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var missing = await Problem.ReadAsync(await PostJsonAsync(unconfigured.ClientFor(owner.Id, pro.Slug), new { message = trigger }),
            HttpStatusCode.ServiceUnavailable);
        missing.Type.ShouldBe("https://cleancrm.dev/problems/ai_not_configured");
        Stub.RequestsFor(trigger).ShouldBeEmpty();
        (await PlatformEnvironment.CountRowsAsync(pro, "SELECT count(*) FROM copilot_messages")).ShouldBe(0);
    }

    [Fact]
    public async Task Bad_input_is_a_400_problem_naming_the_field_and_stores_nothing()
    {
        var (_, org, client) = await ProOrgAsync();
        var (_, _, otherClient) = await ProOrgAsync();
        var foreignDeal = await OrgScopedEndpoints.CreateAsync(otherClient, "deals", new { name = "Not yours" });
        var trigger = Trigger();
        Stub.Script(trigger, "Should never be asked.");

        (await Problem.ReadAsync(await PostJsonAsync(client, new { }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("message");
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = "  " }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("message");
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger + new string('x', 8001) }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("message");
        (await Problem.ReadAsync(await PostJsonAsync(client, new
        {
            message = trigger,
            context = new { dealId = Guid.NewGuid(), companyId = Guid.NewGuid() },
        }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("context");
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger, context = new { } }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("context");
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger, conversationId = Guid.Empty }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("conversationId");
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger, temperature = 2 }), HttpStatusCode.BadRequest))
            .Detail.ShouldContain("temperature");
        (await Problem.ReadAsync(await PostRawAsync(client, "{\"message\":"), HttpStatusCode.BadRequest)).Code.ShouldBe("bad_request");
        (await Problem.ReadAsync(await PostRawAsync(client, "{\"message\":42}"), HttpStatusCode.BadRequest)).Code.ShouldBe("bad_request");

        // Well-formed ids naming nothing of this org, or nothing of this user, are not found.
        var unknown = Guid.NewGuid();
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger, conversationId = unknown }), HttpStatusCode.NotFound))
            .Detail.ShouldContain(unknown.ToString());
        (await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger, context = new { dealId = foreignDeal } }),
            HttpStatusCode.NotFound)).Detail.ShouldContain(foreignDeal.ToString());

        Stub.RequestsFor(trigger).ShouldBeEmpty();
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM copilot_conversations")).ShouldBe(0);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM copilot_messages")).ShouldBe(0);
        (await UsageAsync(client)).ShouldBe(0);
    }

    [Fact]
    public async Task A_failing_provider_is_a_503_and_releases_the_reserved_tokens()
    {
        var (_, _, client) = await ProOrgAsync();
        var trigger = Trigger();
        Stub.Script(trigger, "unused", failWith: 400);

        var failed = await Problem.ReadAsync(await PostJsonAsync(client, new { message = trigger }), HttpStatusCode.ServiceUnavailable);
        failed.Code.ShouldBe("ai_provider_failed");
        failed.Detail.ShouldNotContain("The stub was told to fail.");
        Stub.RequestsFor(trigger).ShouldNotBeEmpty();
        (await UsageAsync(client)).ShouldBe(0);
    }

    [Fact]
    public async Task A_provider_failing_after_the_stream_started_ends_it_with_an_error_event()
    {
        var (_, org, client) = await ProOrgAsync();
        var trigger = Trigger();
        Stub.Script(trigger, "unused", failWith: 400);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/copilot/messages")
        {
            Content = JsonContent.Create(new { message = trigger }),
        };

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var error = ParseEvents(text).ShouldHaveSingleItem();
        error.Name.ShouldBe("error");
        error.Data.GetProperty("code").GetString().ShouldBe("ai_provider_failed");
        error.Data.GetProperty("status").GetInt32().ShouldBe(503);
        (await UsageAsync(client)).ShouldBe(0);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM copilot_messages WHERE role = 'assistant'")).ShouldBe(0);
    }

    [Fact]
    public async Task Conversations_are_private_to_their_user_and_their_org()
    {
        var owner = await platform.CreateUserAsync();
        var colleague = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (colleague, OrgRole.Member)], plan: Plan.Pro);
        var other = await platform.CreateOrganizationAsync(members: [(stranger, OrgRole.Owner)], plan: Plan.Pro);
        var mine = Api.ClientFor(owner.Id, org.Slug);
        var trigger = Trigger();
        Stub.Script(trigger, "Hello.");
        var created = await PostJsonAsync(mine, new { message = $"{trigger} hi" });
        var conversationId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("conversationId").GetGuid();
        var path = $"/api/v1/copilot/conversations/{conversationId}";

        var listed = await mine.GetFromJsonAsync<JsonElement>("/api/v1/copilot/conversations");
        listed.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ShouldBe([conversationId]);
        listed.GetProperty("items")[0].GetProperty("title").GetString().ShouldBe($"{trigger} hi");

        // A colleague in the same org (even one who may read every CRM record) does not see it, nor can continue it.
        var colleagueClient = Api.ClientFor(colleague.Id, org.Slug);
        await Problem.ReadAsync(await colleagueClient.GetAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await colleagueClient.DeleteAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await PostJsonAsync(colleagueClient, new { conversationId, message = trigger }), HttpStatusCode.NotFound);
        (await colleagueClient.GetFromJsonAsync<JsonElement>("/api/v1/copilot/conversations")).GetProperty("items").GetArrayLength()
            .ShouldBe(0);

        // Another org: its own header finds nothing, naming this org is not found, its org-bound client is refused.
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, other.Slug).GetAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, other.Slug).DeleteAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, org.Slug).GetAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, org.Slug, orgClaim: other.Id, role: "admin").GetAsync(path),
            HttpStatusCode.Forbidden);
        (await PlatformEnvironment.CountRowsAsync(org, $"SELECT count(*) FROM copilot_messages WHERE conversation_id = '{conversationId}'"))
            .ShouldBe(2);

        (await mine.DeleteAsync(path)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Problem.ReadAsync(await mine.GetAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await mine.DeleteAsync(path), HttpStatusCode.NotFound);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM copilot_messages")).ShouldBe(0);
    }

    private async Task<(UserAccount Owner, Organization Org, HttpClient Client)> ProOrgAsync()
    {
        var owner = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        return (owner, org, Api.ClientFor(owner.Id, org.Slug));
    }

    private static string Trigger() => $"t{Guid.NewGuid():N}";

    private static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/copilot/messages") { Content = JsonContent.Create(body) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> PostRawAsync(HttpClient client, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/copilot/messages")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client.SendAsync(request);
    }

    private static async Task<long> UsageAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements"))
            .GetProperty("usage").GetProperty("aiTokens").GetInt64();

    private static List<(string Name, JsonElement Data)> ParseEvents(string text)
    {
        var events = new List<(string, JsonElement)>();
        foreach (var frame in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = frame.Split('\n');
            var name = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))["event: ".Length..];
            var data = lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
            events.Add((name, JsonDocument.Parse(data).RootElement.Clone()));
        }

        return events;
    }
}
