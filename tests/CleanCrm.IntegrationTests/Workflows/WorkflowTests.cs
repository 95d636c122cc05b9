using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Workflows;
using CleanCrm.IntegrationTests.Integrations;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CleanCrm.IntegrationTests.Workflows;

/// <summary>
/// Workflows (docs/WORKFLOWS.md, "Workflows"): CRUD with validation and ETags, every trigger and action run from the real
/// outbox by the real jobs, conditions, loop prevention by causation depth, retries of a failing action (the WireMock Slack
/// stub answering 500), a failing webhook endpoint retried then disabled, <c>task.overdue</c> and the outbox retention.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class WorkflowTests(SharedPlatform platform)
{
    private sealed class Host : IDisposable
    {
        public Host(PlatformEnvironment platform)
        {
            Receiver = WireMockServer.Start();
            Receiver.Given(Request.Create().WithPath("/hooks/ok").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
            Receiver.Given(Request.Create().WithPath("/hooks/down").UsingPost()).RespondWith(Response.Create().WithStatusCode(503));
            Integrations = new IntegrationsHost(platform, new Dictionary<string, string?>
            {
                // The receiver listens on loopback: allow-listed here, as production allows nothing private.
                ["CleanCrm:Integrations:Enrichment:AllowPrivateHosts:0"] = new Uri(Receiver.Url!).Host,
            });
        }

        public WireMockServer Receiver { get; }

        public IntegrationsHost Integrations { get; }

        public ApiFactory Api => Integrations.Api;

        public string Url(string path) => Receiver.Url + path;

        public Task<int> DispatchAsync(Guid organizationId) =>
            Api.Services.GetRequiredService<DomainEventDispatchJob>().DispatchAsync(organizationId, CancellationToken.None);

        public Task<WorkflowRunStatus?> RunAsync(Guid organizationId, Guid runId) =>
            Api.Services.GetRequiredService<WorkflowRunJob>().RunAsync(organizationId, runId, CancellationToken.None);

        public void Dispose()
        {
            Integrations.Dispose();
            Receiver.Dispose();
        }
    }

    private sealed record Org(UserAccount Owner, UserAccount Colleague, Organization Organization, HttpClient Client, Guid PipelineId,
        Guid[] OpenStages, Guid WonStage, Guid LostStage);

    private Task<Host> HostAsync() => platform.SharedAsync("workflows-host", () => Task.FromResult(new Host(platform)));

    private async Task<Org> OrgAsync(string plan = Plan.Pro, bool slack = false)
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var colleague = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (colleague, OrgRole.Member)],
            plan: plan);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        if (slack)
        {
            (await host.Integrations.ConnectAsync(client, "slack")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        }

        var pipeline = (await client.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items")[0];
        var stages = pipeline.GetProperty("stages").EnumerateArray().ToList();
        Guid Stage(string kind) => stages.First(s => s.GetProperty("kind").GetString() == kind).GetProperty("id").GetGuid();
        return new Org(owner, colleague, organization, client, pipeline.GetProperty("id").GetGuid(),
            [.. stages.Where(s => s.GetProperty("kind").GetString() == "open").Select(s => s.GetProperty("id").GetGuid())],
            Stage("won"), Stage("lost"));
    }

    private static async Task<JsonElement> CreateWorkflowAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/v1/workflows", body);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement[]> RunsAsync(HttpClient client, Guid workflowId)
    {
        var response = await client.GetAsync($"/api/v1/workflows/{workflowId}/runs");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()];
    }

    private static async Task<List<Guid>> IdsAsync(Organization organization, string sql)
    {
        await using var connection = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<Guid>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary>Dispatches the outbox and runs every due run, until nothing is left to do (as the worker would).</summary>
    private static async Task DrainAsync(Host host, Organization organization)
    {
        for (var round = 0; round < 20; round++)
        {
            await host.DispatchAsync(organization.Id);
            var due = await IdsAsync(organization,
                "SELECT id FROM workflow_runs WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY sequence");
            if (due.Count == 0)
            {
                return;
            }

            foreach (var id in due)
            {
                await host.RunAsync(organization.Id, id);
            }
        }

        throw new InvalidOperationException("The workflows did not settle within 20 rounds.");
    }

    private static async Task MoveAsync(HttpClient client, Guid dealId, Guid stageId) =>
        (await client.PostAsJsonAsync($"/api/v1/deals/{dealId}/move", new { stageId })).StatusCode.ShouldBe(HttpStatusCode.OK);

    [Fact]
    public async Task A_workflow_is_created_read_patched_with_etags_and_deleted_and_audited()
    {
        var org = await OrgAsync();
        var tag = await OrgScopedEndpoints.CreateAsync(org.Client, "tags", new { name = "hot" });
        var body = new
        {
            name = "Big deals",
            trigger = new { @event = "deal.stage_changed", stageId = org.OpenStages[1] },
            conditions = new object[]
            {
                new { field = "amount", @operator = "gte", value = 100000 },
                new { field = "pipelineId", @operator = "eq", value = org.PipelineId },
            },
            actions = new object[]
            {
                new { type = "add_tag", tagId = tag },
                new { type = "create_task", title = "Call about {{name}}", dueInDays = 2 },
            },
        };
        var response = await org.Client.PostAsJsonAsync("/api/v1/workflows", body);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/workflows/{id}");
        var etag = response.Headers.ETag!.Tag;
        created.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        created.GetProperty("trigger").GetProperty("stageId").GetGuid().ShouldBe(org.OpenStages[1]);
        created.GetProperty("conditions")[0].GetProperty("value").GetInt64().ShouldBe(100000);
        created.GetProperty("actions")[1].GetProperty("dueInDays").GetInt32().ShouldBe(2);

        var read = await org.Client.GetAsync($"/api/v1/workflows/{id}");
        read.StatusCode.ShouldBe(HttpStatusCode.OK);
        read.Headers.ETag!.Tag.ShouldBe(etag);
        var list = await org.Client.GetFromJsonAsync<JsonElement>("/api/v1/workflows?q=big");
        list.GetProperty("items").EnumerateArray().Select(w => w.GetProperty("id").GetGuid()).ShouldBe([id]);

        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/workflows/{id}")
        {
            Content = new StringContent("{\"enabled\":false,\"name\":\"Big deals (paused)\"}", Encoding.UTF8,
                "application/merge-patch+json"),
        };
        patch.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(etag));
        var patched = await org.Client.SendAsync(patch);
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        var after = await patched.Content.ReadFromJsonAsync<JsonElement>();
        after.GetProperty("enabled").GetBoolean().ShouldBeFalse();
        after.GetProperty("actions").GetArrayLength().ShouldBe(2, "a merge patch leaves what it does not name");

        var stale = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/workflows/{id}")
        {
            Content = new StringContent("{\"enabled\":true}", Encoding.UTF8, "application/merge-patch+json"),
        };
        stale.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(etag));
        await Problem.ReadAsync(await org.Client.SendAsync(stale), HttpStatusCode.PreconditionFailed);

        // A patch that breaks a rule is refused whole.
        var bad = await org.Client.PatchAsJsonAsync($"/api/v1/workflows/{id}", new { actions = new[] { new { type = "launch_rocket" } } });
        (await Problem.ReadAsync(bad, HttpStatusCode.BadRequest)).Errors!.Keys.ShouldContain("actions[0].type");
        (await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/workflows/{id}")).GetProperty("actions").GetArrayLength().ShouldBe(2);

        // The audit entry holds the conditions and actions as JSON (arrays of objects), not as one escaped string.
        var audit = await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audit-log?entityType=workflow&entityId={id}&sort=occurredAt");
        var createdChanges = audit.GetProperty("items")[0].GetProperty("changes");
        createdChanges.GetProperty("actions").ValueKind.ShouldBe(JsonValueKind.Array);
        createdChanges.GetProperty("actions")[1].GetProperty("dueInDays").GetInt32().ShouldBe(2);
        createdChanges.GetProperty("conditions")[0].GetProperty("field").GetString().ShouldBe("amount");

        (await org.Client.DeleteAsync($"/api/v1/workflows/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Problem.ReadAsync(await org.Client.GetAsync($"/api/v1/workflows/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await org.Client.GetAsync($"/api/v1/workflows/{id}/runs"), HttpStatusCode.NotFound);
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"SELECT count(*) FROM audit_log WHERE entity_type = 'workflow' AND entity_id = '{id}'")).ShouldBe(3);
    }

    public static TheoryData<string, string> InvalidWorkflows() => new()
    {
        { "{\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "name" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.exploded\"},\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}",
            "trigger.event" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[]}", "actions" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\",\"stageId\":\"{stage}\"},"
          + "\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "trigger.stageId" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.stage_changed\",\"stageId\":\"{random}\"},"
          + "\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "trigger.stageId" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},"
          + "\"conditions\":[{\"field\":\"colour\",\"operator\":\"eq\",\"value\":1}],"
          + "\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "conditions[0].field" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},"
          + "\"conditions\":[{\"field\":\"amount\",\"operator\":\"like\",\"value\":1}],"
          + "\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "conditions[0].operator" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},"
          + "\"conditions\":[{\"field\":\"amount\",\"operator\":\"gte\",\"value\":\"a\"}],"
          + "\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "conditions[0].value" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"conditions\":[{\"field\":\"ownerId\",\"operator\":\"eq\","
          + "\"value\":\"{random}\"}],\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "conditions[0].value" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"contact.created\"},\"conditions\":[{\"field\":\"amount\",\"operator\":\"gte\","
          + "\"value\":1}],\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}", "conditions[0].field" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"launch_rocket\"}]}", "actions[0].type" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"update_field\",\"field\":\"secret\","
          + "\"value\":1}]}", "actions[0].field" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"update_field\",\"field\":\"stageId\","
          + "\"value\":\"{random}\"}]}", "actions[0].value" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"update_field\",\"field\":\"probability\","
          + "\"value\":101}]}", "actions[0].value" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"add_tag\",\"tagId\":\"{random}\"}]}",
            "actions[0].tagId" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"assign_owner\",\"ownerId\":\"{random}\"}]}",
            "actions[0].ownerId" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"create_task\"}]}", "actions[0].title" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"create_task\",\"title\":\"t\","
          + "\"tagId\":\"{random}\"}]}", "actions[0].tagId" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"call_webhook\",\"endpointId\":\"{random}\"}]}",
            "actions[0].endpointId" },
        { "{\"name\":\"x\",\"trigger\":{\"event\":\"meeting.summarized\"},\"actions\":[{\"type\":\"add_tag\",\"tagId\":\"{random}\"}]}",
            "actions[0].type" },
    };

    [Theory]
    [MemberData(nameof(InvalidWorkflows))]
    public async Task An_invalid_workflow_is_a_400_naming_what_is_wrong_and_nothing_is_stored(string body, string field)
    {
        var org = await OrgAsync();
        var json = body.Replace("{stage}", org.OpenStages[0].ToString(), StringComparison.Ordinal)
            .Replace("{random}", Guid.NewGuid().ToString(), StringComparison.Ordinal);
        var response = await org.Client.PostAsync("/api/v1/workflows", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadRequest);
        problem.Errors.ShouldNotBeNull(problem.Detail);
        problem.Errors!.Keys.ShouldContain(field, problem.Detail);
        (await PlatformEnvironment.CountRowsAsync(org.Organization, "SELECT count(*) FROM workflows")).ShouldBe(0);
    }

    [Fact]
    public async Task Without_the_feature_workflows_are_403_and_members_read_but_do_not_write()
    {
        var free = await OrgAsync(Plan.Free);
        var problem = await Problem.ReadAsync(await free.Client.GetAsync("/api/v1/workflows"), HttpStatusCode.Forbidden);
        problem.Code.ShouldBe("feature_disabled");
        await Problem.ReadAsync(await free.Client.PostAsync("/api/v1/workflows",
            new StringContent(OrgScopedEndpoints.WorkflowBody, Encoding.UTF8, "application/json")), HttpStatusCode.Forbidden);

        var host = await HostAsync();
        var org = await OrgAsync();
        var id = (await CreateWorkflowAsync(org.Client, JsonDocument.Parse(OrgScopedEndpoints.WorkflowBody).RootElement))
            .GetProperty("id").GetGuid();
        var memberClient = host.Api.ClientFor(org.Colleague.Id, org.Organization.Slug);
        (await memberClient.GetAsync($"/api/v1/workflows/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await memberClient.GetAsync($"/api/v1/workflows/{id}/runs")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Problem.ReadAsync(await memberClient.DeleteAsync($"/api/v1/workflows/{id}"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Each_trigger_starts_the_workflows_whose_stage_and_conditions_match()
    {
        var host = await HostAsync();
        var org = await OrgAsync();
        Guid Create(JsonElement w) => w.GetProperty("id").GetGuid();
        var slackAction = new[] { new { type = "post_to_slack", text = "x" } };
        // Workflows that are only counted: their Slack post fails (not connected), which is recorded on the run.
        var created = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "Big new deals",
            trigger = new { @event = "deal.created" },
            conditions = new object[]
            {
                new { field = "amount", @operator = "gte", value = 100000 },
                new { field = "ownerId", @operator = "eq", value = org.Owner.Id },
            },
            actions = slackAction,
        }));
        var movedTo = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "Into stage 2",
            trigger = new { @event = "deal.stage_changed", stageId = org.OpenStages[1] },
            actions = slackAction,
        }));
        var won = Create(await CreateWorkflowAsync(org.Client,
            new { name = "Won", trigger = new { @event = "deal.won" }, actions = slackAction }));
        var lost = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "Lost",
            trigger = new { @event = "deal.lost" },
            actions = slackAction,
        }));
        var contact = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "New contact",
            trigger = new { @event = "contact.created" },
            actions = slackAction,
        }));
        var overdue = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "Overdue",
            trigger = new { @event = "task.overdue" },
            actions = slackAction,
        }));
        var summarized = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "Summary",
            trigger = new { @event = "meeting.summarized" },
            actions = slackAction,
        }));
        var disabled = Create(await CreateWorkflowAsync(org.Client, new
        {
            name = "Off",
            enabled = false,
            trigger = new { @event = "deal.created" },
            actions = slackAction,
        }));

        var small = await OrgScopedEndpoints.CreateAsync(org.Client, "deals",
            new { name = "Small", amount = 50000, currency = "EUR", ownerId = org.Owner.Id });
        var big = await OrgScopedEndpoints.CreateAsync(org.Client, "deals",
            new { name = "Big", amount = 150000, currency = "EUR", ownerId = org.Owner.Id });
        await OrgScopedEndpoints.CreateAsync(org.Client, "deals", new { name = "Big, no owner", amount = 150000, currency = "EUR" });
        await MoveAsync(org.Client, small, org.OpenStages[1]);
        await MoveAsync(org.Client, big, org.OpenStages[2]);
        await MoveAsync(org.Client, big, org.WonStage);
        await MoveAsync(org.Client, small, org.LostStage);
        var contactId = await OrgScopedEndpoints.CreateAsync(org.Client, "contacts", new { firstName = "Grace" });
        var company = await OrgScopedEndpoints.CreateAsync(org.Client, "companies", new { name = "Overdue Inc" });
        var task = await OrgScopedEndpoints.CreateAsync(org.Client, "tasks",
            new { title = "Send the quote", companyId = company, dueAt = DateTimeOffset.UtcNow.AddHours(-1) });
        await OrgScopedEndpoints.CreateAsync(org.Client, "tasks",
            new { title = "Not yet", companyId = company, dueAt = DateTimeOffset.UtcNow.AddDays(1) });
        (await host.Api.Services.GetRequiredService<OutboxMaintenanceJob>().RunAsync(org.Organization.Id, CancellationToken.None))
            .OverdueRaised.ShouldBe(1);
        // Meeting summaries raise meeting.summarized elsewhere; the event is written as they would.
        var meeting = Guid.NewGuid();
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"""
             WITH e AS (INSERT INTO domain_events (id, type, entity_type, entity_id, occurred_at, data, depth)
                        VALUES (gen_random_uuid(), 'meeting.summarized', 'meeting', '{meeting}', now(), '{"{"}"id":"{meeting}"{"}"}', 0)
                        RETURNING 1)
             SELECT count(*) FROM e
             """)).ShouldBe(1);
        await DrainAsync(host, org.Organization);

        async Task<Guid[]> Entities(Guid workflowId) =>
            [.. (await RunsAsync(org.Client, workflowId)).Select(r => r.GetProperty("entityId").GetGuid())];
        (await Entities(created)).ShouldBe([big], "the small deal and the deal without that owner do not meet the conditions");
        (await Entities(movedTo)).ShouldBe([small], "only the move into the trigger's stage");
        (await Entities(won)).ShouldBe([big]);
        (await Entities(lost)).ShouldBe([small]);
        (await Entities(contact)).ShouldBe([contactId]);
        (await Entities(overdue)).ShouldBe([task]);
        (await Entities(summarized)).ShouldBe([meeting]);
        (await Entities(disabled)).ShouldBeEmpty();
        var run = (await RunsAsync(org.Client, won)).Single();
        run.GetProperty("eventType").GetString().ShouldBe("deal.won");
        run.GetProperty("depth").GetInt32().ShouldBe(0);
        run.GetProperty("attempts").GetInt32().ShouldBe(1);
        run.GetProperty("status").GetString().ShouldBe("pending", "Slack is not connected: the post failed and is retried");
        run.GetProperty("error").GetString()!.ShouldContain("Slack is not connected");
        run.GetProperty("actions")[0].GetProperty("status").GetString().ShouldBe("failed");
    }

    [Fact]
    public async Task Every_action_does_its_work_once_even_when_a_retry_runs_the_workflow_again()
    {
        var host = await HostAsync();
        var org = await OrgAsync(slack: true);
        var colleague = org.Colleague;
        var tag = await OrgScopedEndpoints.CreateAsync(org.Client, "tags", new { name = "vip" });
        var endpoint = (await (await org.Client.PostAsJsonAsync("/api/v1/webhook-endpoints",
                new { url = host.Url("/hooks/ok"), events = new[] { "contact.created" } })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("id").GetGuid();
        var text = $"New deal {{{{name}}}} {Guid.NewGuid():N}";
        var workflow = (await CreateWorkflowAsync(org.Client, new
        {
            name = "Everything",
            trigger = new { @event = "deal.created" },
            actions = new object[]
            {
                new { type = "create_task", title = "Call about {{name}}", dueInDays = 3 },
                new { type = "update_field", field = "probability", value = 77 },
                new { type = "add_tag", tagId = tag },
                new { type = "email_owner", subject = "New deal {{name}}" },
                new { type = "call_webhook", endpointId = endpoint },
                new { type = "assign_owner", ownerId = colleague.Id },
                new { type = "post_to_slack", text },
            },
        })).GetProperty("id").GetGuid();

        // The Slack post fails once (HTTP 500): the retry must not repeat the six actions that committed.
        host.Integrations.Providers.QueueSlackAnswers("500");
        var deal = await OrgScopedEndpoints.CreateAsync(org.Client, "deals",
            new { name = "Rollout", amount = 1000, currency = "EUR", ownerId = org.Owner.Id });
        await host.DispatchAsync(org.Organization.Id);
        var runId = (await RunsAsync(org.Client, workflow)).Single().GetProperty("id").GetGuid();
        (await host.RunAsync(org.Organization.Id, runId)).ShouldBe(WorkflowRunStatus.Pending);
        var failed = (await RunsAsync(org.Client, workflow)).Single();
        failed.GetProperty("error").GetString()!.ShouldContain("http_500");
        failed.GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("status").GetString())
            .ShouldBe(["succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "failed"]);
        var retry = host.Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi().ScheduledJobs(0, 5000).Select(j => j.Value)
            .SingleOrDefault(j => j.Job?.Type == typeof(WorkflowRunJob) && j.Job.Args.Contains(runId));
        retry.ShouldNotBeNull("the retry is scheduled");
        (retry.EnqueueAt - DateTime.UtcNow).ShouldBeGreaterThan(TimeSpan.FromSeconds(20));
        (await host.RunAsync(org.Organization.Id, runId)).ShouldBe(WorkflowRunStatus.Pending, "an early duplicate does nothing");

        // The retry's time comes.
        await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"UPDATE workflow_runs SET next_attempt_at = now() WHERE id = '{runId}'");
        (await host.RunAsync(org.Organization.Id, runId)).ShouldBe(WorkflowRunStatus.Succeeded);
        (await host.RunAsync(org.Organization.Id, runId)).ShouldBe(WorkflowRunStatus.Succeeded);
        var run = (await RunsAsync(org.Client, workflow)).Single();
        run.GetProperty("status").GetString().ShouldBe("succeeded");
        run.GetProperty("attempts").GetInt32().ShouldBe(2);
        run.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        run.GetProperty("finishedAt").ValueKind.ShouldBe(JsonValueKind.String);

        var tasks = (await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks?dealId={deal}")).GetProperty("items");
        tasks.GetArrayLength().ShouldBe(1, "the task is created once");
        tasks[0].GetProperty("title").GetString().ShouldBe("Call about Rollout");
        tasks[0].GetProperty("assigneeId").GetGuid().ShouldBe(org.Owner.Id, "the deal's owner when the action names none");
        tasks[0].GetProperty("description").GetString()!.ShouldContain(runId.ToString());
        (tasks[0].GetProperty("dueAt").GetDateTimeOffset() - DateTimeOffset.UtcNow).ShouldBeInRange(TimeSpan.FromDays(2.9),
            TimeSpan.FromDays(3));
        var updated = await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{deal}");
        updated.GetProperty("probability").GetInt32().ShouldBe(77);
        updated.GetProperty("ownerId").GetGuid().ShouldBe(colleague.Id);
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"SELECT count(*) FROM taggings WHERE deal_id = '{deal}' AND tag_id = '{tag}' AND deleted_at IS NULL")).ShouldBe(1);
        await using (var db = await platform.CatalogAsync())
        {
            var mail = await db.OutgoingEmails.Where(e => e.OrganizationId == org.Organization.Id && e.Kind == "workflow_email")
                .ToListAsync();
            mail.Count.ShouldBe(1, "mailed once");
            mail[0].ToAddress.ShouldBe(org.Owner.Email);
            mail[0].Subject.ShouldBe("New deal Rollout");
        }

        var posted = text.Replace("{{name}}", "Rollout", StringComparison.Ordinal);
        host.Integrations.Providers.Server.LogEntries
            .Count(e => e.RequestMessage.Path == "/slack/api/chat.postMessage" && e.RequestMessage.Body!.Contains(posted))
            .ShouldBe(2, "the post answered 500, then the retry posted it");

        // The webhook action: one signed delivery to the endpoint through the delivery machinery, marked with the run.
        var deliveries = (await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/webhook-endpoints/{endpoint}/deliveries"))
            .GetProperty("items");
        deliveries.GetArrayLength().ShouldBe(1);
        var deliveryId = deliveries[0].GetProperty("id").GetGuid();
        (await host.Api.Services.GetRequiredService<WebhookDeliveryJob>()
                .DeliverAsync(org.Organization.Id, deliveryId, false, CancellationToken.None))
            .ShouldBe(WebhookDeliveryStatus.Succeeded);
        var received = host.Receiver.LogEntries.Single(e => e.RequestMessage.Body!.Contains(runId.ToString()));
        using (var payload = JsonDocument.Parse(received.RequestMessage.Body!))
        {
            payload.RootElement.GetProperty("type").GetString().ShouldBe("deal.created");
            payload.RootElement.GetProperty("data").GetProperty("id").GetGuid().ShouldBe(deal);
            payload.RootElement.GetProperty("workflow").GetProperty("id").GetGuid().ShouldBe(workflow);
        }

        // The run's own writes raised events one level deeper, marked with the run.
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"SELECT count(*) FROM domain_events WHERE depth = 1 AND causation_run_id = '{runId}'")).ShouldBe(0,
            "probability, owner and tags raise no event (only stage, status and creations do)");
    }

    [Fact]
    public async Task A_post_to_Slack_failing_on_every_attempt_is_retried_then_the_run_fails()
    {
        var host = await HostAsync();
        var org = await OrgAsync(slack: true);
        var workflow = (await CreateWorkflowAsync(org.Client, new
        {
            name = "Tell Slack",
            trigger = new { @event = "contact.created" },
            actions = new[] { new { type = "post_to_slack", text = "New contact {{firstName}}" } },
        })).GetProperty("id").GetGuid();
        await OrgScopedEndpoints.CreateAsync(org.Client, "contacts", new { firstName = "Retry" });
        await host.DispatchAsync(org.Organization.Id);
        var runId = (await RunsAsync(org.Client, workflow)).Single().GetProperty("id").GetGuid();
        for (var attempt = 1; attempt <= WorkflowRunJob.MaxAttempts; attempt++)
        {
            host.Integrations.Providers.QueueSlackAnswers("500");
            await PlatformEnvironment.CountRowsAsync(org.Organization,
                $"UPDATE workflow_runs SET next_attempt_at = now() WHERE id = '{runId}' AND status = 'pending'");
            var status = await host.RunAsync(org.Organization.Id, runId);
            status.ShouldBe(attempt < WorkflowRunJob.MaxAttempts ? WorkflowRunStatus.Pending : WorkflowRunStatus.Failed);
        }

        var run = (await RunsAsync(org.Client, workflow)).Single();
        run.GetProperty("status").GetString().ShouldBe("failed");
        run.GetProperty("attempts").GetInt32().ShouldBe(WorkflowRunJob.MaxAttempts);
        run.GetProperty("error").GetString()!.ShouldContain("http_500");
        run.GetProperty("nextAttemptAt").ValueKind.ShouldBe(JsonValueKind.Null);
        (await host.RunAsync(org.Organization.Id, runId)).ShouldBe(WorkflowRunStatus.Failed, "a failed run is not run again");
    }

    [Fact]
    public async Task Two_workflows_moving_a_deal_back_and_forth_stop_at_causation_depth_three()
    {
        var host = await HostAsync();
        var org = await OrgAsync();
        var (a, b) = (org.OpenStages[1], org.OpenStages[2]);
        var toB = (await CreateWorkflowAsync(org.Client, new
        {
            name = "A to B",
            trigger = new { @event = "deal.stage_changed", stageId = a },
            actions = new[] { new { type = "update_field", field = "stageId", value = b } },
        })).GetProperty("id").GetGuid();
        var toA = (await CreateWorkflowAsync(org.Client, new
        {
            name = "B to A",
            trigger = new { @event = "deal.stage_changed", stageId = b },
            actions = new[] { new { type = "update_field", field = "stageId", value = a } },
        })).GetProperty("id").GetGuid();
        var deal = await OrgScopedEndpoints.CreateAsync(org.Client, "deals", new { name = "Ping-pong" });
        await MoveAsync(org.Client, deal, a);
        await DrainAsync(host, org.Organization);

        var runs = (await RunsAsync(org.Client, toB)).Concat(await RunsAsync(org.Client, toA))
            .OrderBy(r => r.GetProperty("depth").GetInt32()).ToList();
        runs.Select(r => (r.GetProperty("depth").GetInt32(), r.GetProperty("status").GetString()))
            .ShouldBe([(0, "succeeded"), (1, "succeeded"), (2, "succeeded"), (3, "skipped")]);
        runs[3].GetProperty("error").GetString()!.ShouldContain("loop");
        runs[3].GetProperty("workflowId").GetGuid().ShouldBe(toA, "depth 0 A→B, 1 B→A, 2 A→B, then B→A is not started");
        (await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{deal}")).GetProperty("stageId").GetGuid().ShouldBe(b);
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"SELECT max(depth) FROM domain_events WHERE entity_id = '{deal}'")).ShouldBe(3);
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"SELECT count(*) FROM deal_stage_history WHERE deal_id = '{deal}'"))
            .ShouldBe(5, "created, moved by hand, three workflow moves");
    }

    [Fact]
    public async Task A_webhook_endpoint_failing_for_a_workflow_is_retried_by_the_delivery_machinery_then_disabled()
    {
        var host = await HostAsync();
        var org = await OrgAsync();
        var endpoint = (await (await org.Client.PostAsJsonAsync("/api/v1/webhook-endpoints",
                new { url = host.Url("/hooks/down"), events = new[] { "deal.won" } })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("id").GetGuid();
        var workflow = (await CreateWorkflowAsync(org.Client, new
        {
            name = "Call the ERP",
            trigger = new { @event = "contact.created" },
            actions = new[] { new { type = "call_webhook", endpointId = endpoint } },
        })).GetProperty("id").GetGuid();
        var contact = await OrgScopedEndpoints.CreateAsync(org.Client, "contacts", new { firstName = "Down" });
        await DrainAsync(host, org.Organization);
        (await RunsAsync(org.Client, workflow)).Single().GetProperty("status").GetString().ShouldBe("succeeded");
        var deliveryId = (await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/webhook-endpoints/{endpoint}/deliveries"))
            .GetProperty("items").EnumerateArray().Single().GetProperty("id").GetGuid();
        var job = host.Api.Services.GetRequiredService<WebhookDeliveryJob>();
        for (var attempt = 1; attempt <= WebhookDeliveryJob.MaxAttempts; attempt++)
        {
            // Each scheduled retry's time comes.
            await PlatformEnvironment.CountRowsAsync(org.Organization,
                $"UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = '{deliveryId}' AND status = 'pending'");
            (await job.DeliverAsync(org.Organization.Id, deliveryId, false, CancellationToken.None))
                .ShouldBe(attempt < WebhookDeliveryJob.MaxAttempts ? WebhookDeliveryStatus.Pending : WebhookDeliveryStatus.Failed);
        }

        host.Receiver.LogEntries.Count(e => e.RequestMessage.Path == "/hooks/down" && e.RequestMessage.Body!.Contains(contact.ToString()))
            .ShouldBe(WebhookDeliveryJob.MaxAttempts);
        var disabled = await org.Client.GetFromJsonAsync<JsonElement>($"/api/v1/webhook-endpoints/{endpoint}");
        disabled.GetProperty("status").GetString().ShouldBe("disabled");
        await using (var db = await platform.CatalogAsync())
        {
            (await db.OutgoingEmails.CountAsync(e => e.OrganizationId == org.Organization.Id && e.Kind == "webhook_endpoint_disabled"))
                .ShouldBe(1);
        }

        // The next run cannot call a disabled endpoint: the action fails with the reason.
        await OrgScopedEndpoints.CreateAsync(org.Client, "contacts", new { firstName = "After" });
        await DrainAsync(host, org.Organization);
        var latest = (await RunsAsync(org.Client, workflow))[0];
        latest.GetProperty("status").GetString().ShouldBe("pending");
        latest.GetProperty("error").GetString()!.ShouldContain("disabled");
    }

    [Fact]
    public async Task Task_overdue_is_raised_once_per_due_time_and_old_consumed_events_are_pruned()
    {
        var host = await HostAsync();
        var org = await OrgAsync();
        var maintenance = host.Api.Services.GetRequiredService<OutboxMaintenanceJob>();
        var company = await OrgScopedEndpoints.CreateAsync(org.Client, "companies", new { name = "Late Ltd" });
        var task = await OrgScopedEndpoints.CreateAsync(org.Client, "tasks",
            new { title = "Renew contract", companyId = company, dueAt = DateTimeOffset.UtcNow.AddMinutes(-5) });
        var done = await OrgScopedEndpoints.CreateAsync(org.Client, "tasks",
            new { title = "Done already", companyId = company, dueAt = DateTimeOffset.UtcNow.AddMinutes(-5) });
        (await org.Client.PatchAsJsonAsync($"/api/v1/tasks/{done}", new { status = "done" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await maintenance.RunAsync(org.Organization.Id, CancellationToken.None)).OverdueRaised.ShouldBe(1);
        (await maintenance.RunAsync(org.Organization.Id, CancellationToken.None)).OverdueRaised.ShouldBe(0, "raised once");
        (await org.Client.PatchAsJsonAsync($"/api/v1/tasks/{task}", new { dueAt = DateTimeOffset.UtcNow.AddMinutes(-1) }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        (await maintenance.RunAsync(org.Organization.Id, CancellationToken.None)).OverdueRaised.ShouldBe(1, "a new due time");
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"SELECT count(*) FROM domain_events WHERE type = 'task.overdue' AND entity_id = '{task}' "
            + "AND data->>'title' = 'Renew contract'"))
            .ShouldBe(2);

        // Slack can be told about it, with one line.
        (await org.Client.PutAsJsonAsync("/api/v1/integrations/slack/settings", new { events = new[] { "task.overdue" } }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        SlackEventConsumer.Text(new DomainEvent
        {
            Type = DomainEventTypes.TaskOverdue,
            EntityType = "task",
            Data = "{\"title\":\"Renew contract\",\"dueAt\":\"2026-12-01T09:30:00Z\"}",
        }, new Dictionary<Guid, string>()).ShouldBe("Task overdue: Renew contract (due 2026-12-01 09:30 UTC)");
        // Outgoing webhooks can subscribe to it.
        (await org.Client.PostAsJsonAsync("/api/v1/webhook-endpoints",
                new { url = host.Url("/hooks/ok"), events = new[] { "task.overdue" } }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);

        // Retention: events older than 30 days that every consumer handled go; unhandled ones stay.
        await host.DispatchAsync(org.Organization.Id);
        var total = await PlatformEnvironment.CountRowsAsync(org.Organization, "SELECT count(*) FROM domain_events");
        total.ShouldBeGreaterThanOrEqualTo(2);
        await PlatformEnvironment.CountRowsAsync(org.Organization,
            "UPDATE domain_events SET occurred_at = now() - interval '31 days' WHERE type = 'task.overdue'");
        await PlatformEnvironment.CountRowsAsync(org.Organization,
            $"""
             WITH e AS (INSERT INTO domain_events (id, type, entity_type, entity_id, occurred_at, data, depth)
                        VALUES (gen_random_uuid(), 'contact.created', 'contact', gen_random_uuid(), now() - interval '40 days',
                                '{"{"}{"}"}', 0)
                        RETURNING 1)
             SELECT count(*) FROM e
             """);
        (await maintenance.RunAsync(org.Organization.Id, CancellationToken.None)).EventsDeleted.ShouldBe(2);
        (await PlatformEnvironment.CountRowsAsync(org.Organization, "SELECT count(*) FROM domain_events WHERE type = 'task.overdue'"))
            .ShouldBe(0);
        (await PlatformEnvironment.CountRowsAsync(org.Organization, "SELECT count(*) FROM domain_events")).ShouldBe(total - 2 + 1,
            "the unconsumed old event stays until every consumer handled it");
        (await PlatformEnvironment.CountRowsAsync(org.Organization,
            "SELECT count(*) FROM domain_event_consumptions c WHERE NOT EXISTS (SELECT 1 FROM domain_events e WHERE e.id = c.event_id)"))
            .ShouldBe(0);
    }
}
