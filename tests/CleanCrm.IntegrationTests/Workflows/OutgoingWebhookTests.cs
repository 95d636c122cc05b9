using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Workflows;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StandardWebhooks;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CleanCrm.IntegrationTests.Workflows;

/// <summary>
/// The domain-event outbox and outgoing webhooks (docs/WORKFLOWS.md): events written with the change, dispatched once per
/// consumer, delivered to a WireMock receiver with Standard Webhooks signatures checked by the StandardWebhooks package,
/// retried with back-off on a controlled clock, then the endpoint disabled and its owners mailed.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class OutgoingWebhookTests(SharedPlatform platform)
{
    private sealed class Host : IDisposable
    {
        public Host(PlatformEnvironment platform)
        {
            Receiver = WireMockServer.Start();
            Receiver.Given(Request.Create().WithPath("/hooks/ok").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
            Receiver.Given(Request.Create().WithPath("/hooks/other").UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
            Receiver.Given(Request.Create().WithPath("/hooks/down").UsingPost()).RespondWith(Response.Create().WithStatusCode(503));
            Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            Api = new ApiFactory(platform,
                new Dictionary<string, string?>
                {
                    // The receiver listens on loopback: allow-listed here, as production allows nothing private.
                    ["CleanCrm:Integrations:Enrichment:AllowPrivateHosts:0"] = new Uri(Receiver.Url!).Host,
                },
                services => services.AddSingleton<TimeProvider>(Clock));
        }

        public WireMockServer Receiver { get; }

        public FakeTimeProvider Clock { get; }

        public ApiFactory Api { get; }

        public string Url(string path) => Receiver.Url + path;

        public IReadOnlyList<WireMock.Logging.ILogEntry> Received(string path) =>
            [.. Receiver.LogEntries.Where(e => e.RequestMessage.Path == path).OrderBy(e => e.RequestMessage.DateTime)];

        public Task<int> DispatchAsync(Guid organizationId) =>
            Api.Services.GetRequiredService<DomainEventDispatchJob>().DispatchAsync(organizationId, CancellationToken.None);

        public Task<WebhookDeliveryStatus?> DeliverAsync(Guid organizationId, Guid deliveryId, bool manual = false) =>
            Api.Services.GetRequiredService<WebhookDeliveryJob>().DeliverAsync(organizationId, deliveryId, manual, CancellationToken.None);

        public void Dispose()
        {
            Api.Dispose();
            Receiver.Dispose();
        }
    }

    // The retry test moves its clock three days on, so it gets a host of its own: the others sign with real-time timestamps.
    private Task<Host> HostAsync(string key = "outgoing-webhooks-host") =>
        platform.SharedAsync(key, () => Task.FromResult(new Host(platform)));

    private async Task<(UserAccount Owner, Organization Org, HttpClient Client)> OrgAsync(string plan = Plan.Pro,
        string key = "outgoing-webhooks-host")
    {
        var host = await HostAsync(key);
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: plan);
        return (owner, organization, host.Api.ClientFor(owner.Id, organization.Slug));
    }

    private static async Task<JsonElement> CreateEndpointAsync(HttpClient client, string url, params string[] events)
    {
        var response = await client.PostAsJsonAsync("/api/v1/webhook-endpoints", new { url, events });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement[]> DeliveriesAsync(HttpClient client, Guid endpointId)
    {
        var response = await client.GetAsync($"/api/v1/webhook-endpoints/{endpointId}/deliveries");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()];
    }

    private static HeaderDictionary Headers(WireMock.Logging.ILogEntry entry)
    {
        var headers = new HeaderDictionary();
        foreach (var (name, values) in entry.RequestMessage.Headers!)
        {
            headers[name] = values.ToArray();
        }

        return headers;
    }

    [Fact]
    public async Task Deal_events_reach_the_endpoint_once_signed_so_the_Standard_Webhooks_reference_verifies_them()
    {
        var host = await HostAsync();
        var (_, organization, client) = await OrgAsync();
        var created = await CreateEndpointAsync(client, host.Url("/hooks/ok"), "deal.created", "deal.won", "deal.stage_changed");
        var secret = created.GetProperty("secret").GetString()!;
        secret.ShouldStartWith("whsec_");
        var endpointId = created.GetProperty("id").GetGuid();
        (await client.GetStringAsync($"/api/v1/webhook-endpoints/{endpointId}")).ShouldNotContain("whsec_");

        // A refused write raises nothing; a committed one raises its event in the same transaction.
        (await client.PostAsJsonAsync("/api/v1/deals", new { name = "Bad", stageId = Guid.NewGuid() })).StatusCode
            .ShouldBe(HttpStatusCode.BadRequest);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM domain_events")).ShouldBe(0);
        var dealId = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Rollout", amount = 5000, currency = "EUR" });
        await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Unsubscribed" });
        (await PlatformEnvironment.CountRowsAsync(organization,
            $"SELECT count(*) FROM domain_events WHERE type = 'deal.created' AND entity_id = '{dealId}'")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM domain_events WHERE type = 'contact.created'"))
            .ShouldBe(1);

        (await host.DispatchAsync(organization.Id)).ShouldBe(2);
        (await host.DispatchAsync(organization.Id)).ShouldBe(0, "a consumer gets each event once");
        var deliveries = await DeliveriesAsync(client, endpointId);
        deliveries.Length.ShouldBe(1, "the contact event has no subscriber");
        var deliveryId = deliveries[0].GetProperty("id").GetGuid();
        (await host.DeliverAsync(organization.Id, deliveryId)).ShouldBe(WebhookDeliveryStatus.Succeeded);
        (await host.DeliverAsync(organization.Id, deliveryId)).ShouldBe(WebhookDeliveryStatus.Succeeded);

        var received = host.Received("/hooks/ok").Where(e => e.RequestMessage.Body!.Contains(dealId.ToString())).ToList();
        received.Count.ShouldBe(1, "a delivered message is not sent again");
        var body = received[0].RequestMessage.Body!;
        new StandardWebhook(secret).Verify(body, Headers(received[0]));
        Should.Throw<StandardWebhooks.Diagnostics.WebhookVerificationException>(() =>
            new StandardWebhook("whsec_" + Convert.ToBase64String(new byte[32])).Verify(body, Headers(received[0])));
        received[0].RequestMessage.Headers!["webhook-id"].Single().ShouldBe($"msg_{deliveryId:N}");
        using (var payload = JsonDocument.Parse(body))
        {
            payload.RootElement.GetProperty("type").GetString().ShouldBe("deal.created");
            payload.RootElement.GetProperty("data").GetProperty("id").GetGuid().ShouldBe(dealId);
            payload.RootElement.GetProperty("data").GetProperty("amount").GetInt64().ShouldBe(5000);
        }

        var log = (await DeliveriesAsync(client, endpointId)).Single();
        log.GetProperty("status").GetString().ShouldBe("succeeded");
        log.GetProperty("lastResponseStatus").GetInt32().ShouldBe(204);
        log.GetProperty("attemptLog").EnumerateArray().Single().GetProperty("responseStatus").GetInt32().ShouldBe(204);

        // Winning the deal: a stage change and a win, each delivered with its own signature.
        var pipeline = (await client.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items")[0];
        var won = pipeline.GetProperty("stages").EnumerateArray().First(s => s.GetProperty("kind").GetString() == "won")
            .GetProperty("id").GetGuid();
        (await client.PostAsJsonAsync($"/api/v1/deals/{dealId}/move", new { stageId = won })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await host.DispatchAsync(organization.Id)).ShouldBe(2);
        var pending = (await DeliveriesAsync(client, endpointId)).Where(d => d.GetProperty("status").GetString() == "pending").ToList();
        pending.Select(d => d.GetProperty("eventType").GetString()).Order().ShouldBe(["deal.stage_changed", "deal.won"]);
        foreach (var delivery in pending)
        {
            (await host.DeliverAsync(organization.Id, delivery.GetProperty("id").GetGuid())).ShouldBe(WebhookDeliveryStatus.Succeeded);
        }

        var moved = host.Received("/hooks/ok").Where(e => e.RequestMessage.Body!.Contains(dealId.ToString())).Skip(1).ToList();
        moved.Count.ShouldBe(2);
        foreach (var entry in moved)
        {
            new StandardWebhook(secret).Verify(entry.RequestMessage.Body!, Headers(entry));
        }

        var change = moved.Select(e => JsonDocument.Parse(e.RequestMessage.Body!).RootElement)
            .Single(p => p.GetProperty("type").GetString() == "deal.stage_changed");
        change.GetProperty("data").GetProperty("stageId").GetGuid().ShouldBe(won);
        change.GetProperty("data").GetProperty("previousStageId").GetGuid().ShouldNotBe(won);
    }

    [Fact]
    public async Task A_failing_endpoint_is_retried_with_backoff_for_three_days_then_disabled_and_its_owners_mailed()
    {
        const string key = "outgoing-webhooks-retry-host";
        var host = await HostAsync(key);
        var (owner, organization, client) = await OrgAsync(Plan.Pro, key);
        var endpointId = (await CreateEndpointAsync(client, host.Url("/hooks/down"), "contact.created")).GetProperty("id").GetGuid();
        var contactId = await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Retry" });
        (await host.DispatchAsync(organization.Id)).ShouldBe(1);
        var deliveryId = (await DeliveriesAsync(client, endpointId)).Single().GetProperty("id").GetGuid();
        var monitoring = host.Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi();

        var started = host.Clock.GetUtcNow();
        (await host.DeliverAsync(organization.Id, deliveryId)).ShouldBe(WebhookDeliveryStatus.Pending);
        var first = (await DeliveriesAsync(client, endpointId)).Single();
        first.GetProperty("attempts").GetInt32().ShouldBe(1);
        first.GetProperty("lastResponseStatus").GetInt32().ShouldBe(503);
        first.GetProperty("nextAttemptAt").GetDateTimeOffset().ShouldBe(host.Clock.GetUtcNow().AddSeconds(5), TimeSpan.FromSeconds(1));
        monitoring.ScheduledJobs(0, 5000).Select(j => j.Value)
            .Any(j => j.Job?.Type == typeof(WebhookDeliveryJob) && j.Job.Args.Contains(deliveryId)).ShouldBeTrue("the retry is scheduled");

        // A duplicate job before the retry is due sends nothing.
        (await host.DeliverAsync(organization.Id, deliveryId)).ShouldBe(WebhookDeliveryStatus.Pending);
        host.Received("/hooks/down").Count(e => e.RequestMessage.Body!.Contains(contactId.ToString())).ShouldBe(1);

        foreach (var delay in WebhookDeliveryJob.RetryDelays)
        {
            host.Clock.Advance(delay);
            await host.DeliverAsync(organization.Id, deliveryId);
        }

        (host.Clock.GetUtcNow() - started).ShouldBeInRange(TimeSpan.FromHours(70), TimeSpan.FromHours(73));
        var attempts = host.Received("/hooks/down").Where(e => e.RequestMessage.Body!.Contains(contactId.ToString())).ToList();
        attempts.Count.ShouldBe(WebhookDeliveryJob.MaxAttempts);
        attempts.Select(e => e.RequestMessage.Headers!["webhook-id"].Single()).Distinct().ShouldBe([$"msg_{deliveryId:N}"]);
        var last = (await DeliveriesAsync(client, endpointId)).Single();
        last.GetProperty("status").GetString().ShouldBe("failed");
        last.GetProperty("attempts").GetInt32().ShouldBe(WebhookDeliveryJob.MaxAttempts);
        last.GetProperty("attemptLog").EnumerateArray().Select(a => a.GetProperty("responseStatus").GetInt32()).Distinct().ShouldBe([503]);

        var endpoint = await client.GetFromJsonAsync<JsonElement>($"/api/v1/webhook-endpoints/{endpointId}");
        endpoint.GetProperty("status").GetString().ShouldBe("disabled");
        endpoint.GetProperty("disabledReason").GetString()!.ShouldContain("HTTP 503");
        await using (var db = await platform.CatalogAsync())
        {
            var mail = await db.OutgoingEmails
                .SingleAsync(e => e.OrganizationId == organization.Id && e.Kind == "webhook_endpoint_disabled");
            mail.ToAddress.ShouldBe(owner.Email);
        }

        // Disabled: nothing new is delivered, and redelivery waits for the endpoint to be enabled again.
        await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "While disabled" });
        await host.DispatchAsync(organization.Id);
        (await DeliveriesAsync(client, endpointId)).Length.ShouldBe(1);
        var refused = await client.PostAsync($"/api/v1/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/redeliver", null);
        refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("endpoint_disabled");

        // The endpoint moves to a working receiver and is enabled again; the delivery is redelivered by hand.
        var patch = await client.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpointId}",
            new { status = "enabled", url = host.Url("/hooks/ok") });
        patch.StatusCode.ShouldBe(HttpStatusCode.OK, await patch.Content.ReadAsStringAsync());
        (await client.PostAsync($"/api/v1/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/redeliver", null)).StatusCode
            .ShouldBe(HttpStatusCode.Accepted);
        (await host.DeliverAsync(organization.Id, deliveryId, manual: true)).ShouldBe(WebhookDeliveryStatus.Succeeded);
        var redelivered = (await DeliveriesAsync(client, endpointId)).Single(d => d.GetProperty("id").GetGuid() == deliveryId);
        redelivered.GetProperty("status").GetString().ShouldBe("succeeded");
        redelivered.GetProperty("attemptLog")[0].GetProperty("manual").GetBoolean().ShouldBeTrue();
        redelivered.GetProperty("attemptLog")[0].GetProperty("responseStatus").GetInt32().ShouldBe(204);
        host.Received("/hooks/ok").Single(e => e.RequestMessage.Body!.Contains(contactId.ToString())).RequestMessage
            .Headers!["webhook-id"].Single().ShouldBe($"msg_{deliveryId:N}");
    }

    [Theory]
    [InlineData("{\"url\":\"not a url\",\"events\":[\"deal.won\"]}", "url", "not a url")]
    [InlineData("{\"url\":\"ftp://hooks.example.com/x\",\"events\":[\"deal.won\"]}", "url", "ftp://hooks.example.com/x")]
    [InlineData("{\"url\":\"http://10.1.2.3/hook\",\"events\":[\"deal.won\"]}", "url", "http://10.1.2.3/hook")]
    [InlineData("{\"url\":\"http://169.254.169.254/latest/meta-data\",\"events\":[\"deal.won\"]}", "url", "169.254.169.254")]
    [InlineData("{\"url\":\"http://[::1]:9/hook\",\"events\":[\"deal.won\"]}", "url", "[::1]")]
    [InlineData("{\"url\":\"https://user:pw@hooks.example.com/x\",\"events\":[\"deal.won\"]}", "url", "user information")]
    [InlineData("{\"url\":\"https://hooks.example.com/x\",\"events\":[\"deal.won\",\"deal.exploded\"]}", "events", "deal.exploded")]
    [InlineData("{\"url\":\"https://hooks.example.com/x\",\"events\":[]}", "events", "at least one event")]
    [InlineData("{\"url\":\"https://hooks.example.com/x\"}", "events", "at least one event")]
    public async Task Bad_endpoints_are_refused_with_a_400_naming_the_problem_and_nothing_is_stored(string body, string field,
        string named)
    {
        var (_, organization, client) = await OrgAsync();
        var response = await client.PostAsync("/api/v1/webhook-endpoints",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        var problem = JsonDocument.Parse(text).RootElement;
        problem.GetProperty("errors").EnumerateObject().ShouldContain(e => e.Name.StartsWith(field, StringComparison.Ordinal), text);
        text.ShouldContain(named);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM webhook_endpoints")).ShouldBe(0);
    }

    [Fact]
    public async Task Patching_an_endpoint_validates_like_creating_it_and_honours_if_match()
    {
        var host = await HostAsync();
        var (_, _, client) = await OrgAsync();
        var endpointId = (await CreateEndpointAsync(client, host.Url("/hooks/other"), "deal.won")).GetProperty("id").GetGuid();
        var unknown = await client.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpointId}", new { events = new[] { "deal.vanished" } });
        unknown.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await unknown.Content.ReadAsStringAsync()).ShouldContain("deal.vanished");
        var privateTarget = await client.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpointId}", new { url = "http://192.168.1.1/x" });
        privateTarget.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await privateTarget.Content.ReadAsStringAsync()).ShouldContain("192.168.1.1");
        var badStatus = await client.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpointId}", new { status = "paused" });
        badStatus.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        using var stale = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/webhook-endpoints/{endpointId}")
        {
            Content = JsonContent.Create(new { events = new[] { "deal.lost" } }),
        };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        (await client.SendAsync(stale)).StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        var changed = await client.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpointId}",
            new { events = new[] { "deal.lost", "deal.won", "deal.lost" } });
        changed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray().Select(e => e.GetString())
            .ShouldBe(["deal.lost", "deal.won"]);

        var list = await client.GetFromJsonAsync<JsonElement>("/api/v1/webhook-endpoints");
        list.GetProperty("items").EnumerateArray().Single().GetProperty("url").GetString().ShouldBe(host.Url("/hooks/other"));
        (await client.DeleteAsync($"/api/v1/webhook-endpoints/{endpointId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await client.GetAsync($"/api/v1/webhook-endpoints/{endpointId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/webhook-endpoints")).GetProperty("items").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task The_free_plan_gets_403_feature_disabled_and_its_events_are_not_delivered()
    {
        var host = await HostAsync();
        var (_, organization, client) = await OrgAsync(Plan.Free);
        foreach (var response in new[]
                 {
                     await client.GetAsync("/api/v1/webhook-endpoints"),
                     await client.PostAsJsonAsync("/api/v1/webhook-endpoints",
                         new { url = host.Url("/hooks/ok"), events = new[] { "deal.won" } }),
                     await client.GetAsync($"/api/v1/webhook-endpoints/{Guid.NewGuid()}/deliveries"),
                 })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await response.Content.ReadAsStringAsync()).ShouldContain("feature_disabled");
        }

        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM webhook_endpoints")).ShouldBe(0);
    }

    [Fact]
    public async Task Another_organization_can_neither_reach_an_endpoint_nor_receive_its_events()
    {
        var host = await HostAsync();
        var (ownerA, orgA, clientA) = await OrgAsync();
        var (_, orgB, clientB) = await OrgAsync();
        var endpointA = (await CreateEndpointAsync(clientA, host.Url("/hooks/ok"), "contact.created")).GetProperty("id").GetGuid();
        var endpointB = (await CreateEndpointAsync(clientB, host.Url("/hooks/other"), "contact.created")).GetProperty("id").GetGuid();
        var contactA = await OrgScopedEndpoints.CreateAsync(clientA, "contacts", new { firstName = "Only A" });
        await host.DispatchAsync(orgA.Id);
        var deliveryA = (await DeliveriesAsync(clientA, endpointA)).Single().GetProperty("id").GetGuid();
        (await host.DispatchAsync(orgB.Id)).ShouldBe(0);
        (await DeliveriesAsync(clientB, endpointB)).ShouldBeEmpty();

        // B's owner with A's ids, through B's org.
        (await clientB.GetAsync($"/api/v1/webhook-endpoints/{endpointA}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await clientB.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpointA}", new { url = host.Url("/hooks/other") })).StatusCode
            .ShouldBe(HttpStatusCode.NotFound);
        (await clientB.GetAsync($"/api/v1/webhook-endpoints/{endpointA}/deliveries")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await clientB.PostAsync($"/api/v1/webhook-endpoints/{endpointA}/deliveries/{deliveryA}/redeliver", null)).StatusCode
            .ShouldBe(HttpStatusCode.NotFound);
        (await clientB.PostAsync($"/api/v1/webhook-endpoints/{endpointB}/deliveries/{deliveryA}/redeliver", null)).StatusCode
            .ShouldBe(HttpStatusCode.NotFound);
        (await clientB.DeleteAsync($"/api/v1/webhook-endpoints/{endpointA}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await clientB.GetFromJsonAsync<JsonElement>("/api/v1/webhook-endpoints")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("id").GetGuid()).ShouldBe([endpointB]);

        // A's owner naming B's org (not a member) is refused before any lookup.
        var intruder = host.Api.ClientFor(ownerA.Id, orgB.Slug);
        (await intruder.GetAsync($"/api/v1/webhook-endpoints/{endpointB}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await intruder.GetAsync("/api/v1/webhook-endpoints")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        (await host.DeliverAsync(orgA.Id, deliveryA)).ShouldBe(WebhookDeliveryStatus.Succeeded);
        // A's delivery id means nothing in B's database.
        (await host.DeliverAsync(orgB.Id, deliveryA)).ShouldBeNull();
        host.Received("/hooks/other").ShouldNotContain(e => e.RequestMessage.Body!.Contains(contactA.ToString()));
        (await PlatformEnvironment.CountRowsAsync(orgA, $"SELECT count(*) FROM webhook_endpoints WHERE url = '{host.Url("/hooks/ok")}'"))
            .ShouldBe(1);
    }
}
