using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>The four providers' webhooks: verification before parsing, the inbox, duplicates, routing and isolation.</summary>
[Collection(PlatformCollection.Name)]
public sealed class IntegrationWebhookTests(SharedPlatform platform)
{
    private Task<IntegrationsHost> HostAsync() =>
        platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));

    [Fact]
    public async Task Fathom_deliveries_are_verified_recorded_once_and_processed_by_the_job()
    {
        var host = await HostAsync();
        var (organization, connection) = await ConnectedAsync(host, "fathom");
        var secret = host.Providers.WebhookSecret(connection.Id);
        secret.ShouldStartWith("whsec_");
        var body = FathomMeeting("Discovery call");
        var id = "msg_" + Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // Three deliveries of one message: one recorded, two acknowledged as duplicates.
        var answers = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            var response = await FathomAsync(host, connection.Id, id, now, body, secret);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            answers.Add(await response.Content.ReadFromJsonAsync<JsonElement>());
        }

        answers.Select(a => a.GetProperty("duplicate").GetBoolean()).ShouldBe([false, true, true]);
        var delivery = await DeliveryAsync("fathom", id);
        delivery!.OrganizationId.ShouldBe(organization.Id);
        delivery.ConnectionId.ShouldBe(connection.Id);
        delivery.ProtectedPayload.ShouldNotBeNull().ShouldNotContain("Discovery call");

        var job = host.Api.Services.GetRequiredService<IntegrationWebhookJob>();
        await job.ProcessAsync("fathom", id, CancellationToken.None);
        var processed = (await DeliveryAsync("fathom", id))!;
        processed.ProcessedAt.ShouldNotBeNull();
        processed.ProtectedPayload.ShouldBeNull();
        processed.Attempts.ShouldBe(1);
        await job.ProcessAsync("fathom", id, CancellationToken.None);
        (await DeliveryAsync("fathom", id))!.Attempts.ShouldBe(1, "a processed delivery is not processed again");
    }

    [Fact]
    public async Task Fathom_bad_signature_old_timestamp_and_unknown_connection_store_nothing()
    {
        var host = await HostAsync();
        var (_, connection) = await ConnectedAsync(host, "fathom");
        var secret = host.Providers.WebhookSecret(connection.Id);
        var body = FathomMeeting("Refused");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var badId = "msg_" + Guid.NewGuid().ToString("N");
        var tampered = await FathomAsync(host, connection.Id, badId, now, body, secret, tamper: true);
        (await Problem.ReadAsync(tampered, HttpStatusCode.Unauthorized)).Code.ShouldBe("invalid_signature");
        (await DeliveryAsync("fathom", badId)).ShouldBeNull();

        var otherSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        await Problem.ReadAsync(await FathomAsync(host, connection.Id, badId, now, body, otherSecret), HttpStatusCode.Unauthorized);

        var oldId = "msg_" + Guid.NewGuid().ToString("N");
        var old = await FathomAsync(host, connection.Id, oldId, now - 301, body, secret);
        await Problem.ReadAsync(old, HttpStatusCode.Unauthorized);
        (await DeliveryAsync("fathom", oldId)).ShouldBeNull();

        var unknownId = "msg_" + Guid.NewGuid().ToString("N");
        await Problem.ReadAsync(await FathomAsync(host, Guid.NewGuid(), unknownId, now, body, secret), HttpStatusCode.NotFound);
        (await DeliveryAsync("fathom", unknownId)).ShouldBeNull();
    }

    [Fact]
    public async Task A_webhook_for_another_orgs_connection_cannot_touch_this_org()
    {
        var host = await HostAsync();
        var (organization, mine) = await ConnectedAsync(host, "fathom");
        var (other, theirs) = await ConnectedAsync(host, "fathom");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // Signed with the other org's secret but sent to this org's connection: refused.
        var crossId = "msg_" + Guid.NewGuid().ToString("N");
        await Problem.ReadAsync(await FathomAsync(host, mine.Id, crossId, now, FathomMeeting("Cross"),
            host.Providers.WebhookSecret(theirs.Id)),
            HttpStatusCode.Unauthorized);
        (await DeliveryAsync("fathom", crossId)).ShouldBeNull();

        // Properly signed for the other org's connection: recorded for the other org only.
        var theirId = "msg_" + Guid.NewGuid().ToString("N");
        (await FathomAsync(host, theirs.Id, theirId, now, FathomMeeting("Theirs"), host.Providers.WebhookSecret(theirs.Id)))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var delivery = (await DeliveryAsync("fathom", theirId))!;
        delivery.OrganizationId.ShouldBe(other.Id);
        delivery.OrganizationId.ShouldNotBe(organization.Id);
        await using var db = await platform.CatalogAsync();
        (await db.IntegrationWebhookInbox.CountAsync(d => d.OrganizationId == organization.Id && d.EventId == theirId)).ShouldBe(0);
    }

    [Fact]
    public async Task SavvyCal_deliveries_in_any_order_and_repeated_are_recorded_once_each()
    {
        var host = await HostAsync();
        var (organization, connection) = await ConnectedAsync(host, "savvycal");
        var secret = host.Providers.WebhookSecret(connection.Id);
        var events = Enumerable.Range(0, 4).Select(i => SavvyCalEvent(i % 2 == 0 ? "event.created" : "event.rescheduled")).ToList();
        var deliveries = events.Concat(events).Concat(events).OrderBy(_ => Random.Shared.Next()).ToList();
        var duplicates = 0;
        foreach (var (id, body) in deliveries)
        {
            var response = await SavvyCalAsync(host, connection.Id, body, secret);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            duplicates += (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean() ? 1 : 0;
        }

        duplicates.ShouldBe(8);
        await using var db = await platform.CatalogAsync();
        var ids = events.Select(e => e.Id).ToList();
        (await db.IntegrationWebhookInbox.Where(d => d.Provider == "savvycal" && ids.Contains(d.EventId)).CountAsync()).ShouldBe(4);
        (await db.IntegrationWebhookInbox.Where(d => d.Provider == "savvycal" && ids.Contains(d.EventId))
            .AllAsync(d => d.OrganizationId == organization.Id)).ShouldBeTrue();

        var (badId, badBody) = SavvyCalEvent("event.canceled");
        await Problem.ReadAsync(await SavvyCalAsync(host, connection.Id, badBody, "not-the-secret"), HttpStatusCode.Unauthorized);
        await Problem.ReadAsync(await SavvyCalAsync(host, connection.Id, badBody, secret, header: "sha256=00"),
            HttpStatusCode.Unauthorized);
        await Problem.ReadAsync(await SavvyCalAsync(host, Guid.NewGuid(), badBody, secret), HttpStatusCode.NotFound);
        (await DeliveryAsync("savvycal", badId)).ShouldBeNull();
    }

    [Fact]
    public async Task Slack_verifies_the_url_deduplicates_retries_and_app_uninstalled_revokes_the_connection()
    {
        var host = await HostAsync();
        var (_, connection) = await ConnectedAsync(host, "slack");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var challenge = await SlackAsync(host, now, new JsonObject
        {
            ["token"] = "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            ["challenge"] = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            ["type"] = "url_verification",
        }.ToJsonString());
        challenge.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await challenge.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("challenge").GetString()
            .ShouldBe("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");

        var eventId = "Ev" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var team = connection.ExternalAccountId!;
        var uninstalled = SlackEvent(eventId, team, "app_uninstalled");
        for (var retry = 0; retry < 3; retry++)
        {
            var response = await SlackAsync(host, now, uninstalled, retry: retry == 0 ? null : retry);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean().ShouldBe(retry > 0);
        }

        await Problem.ReadAsync(await SlackAsync(host, now, uninstalled, secret: "wrong-signing-secret"), HttpStatusCode.Unauthorized);
        await Problem.ReadAsync(await SlackAsync(host, now - 301, SlackEvent("EvOLD" + Guid.NewGuid().ToString("N")[..6], team,
            "app_uninstalled")), HttpStatusCode.Unauthorized);
        await Problem.ReadAsync(await SlackAsync(host, now,
            SlackEvent("EvX" + Guid.NewGuid().ToString("N")[..8], "TUNKNOWN", "app_mention")),
            HttpStatusCode.NotFound);

        await host.Api.Services.GetRequiredService<IntegrationWebhookJob>().ProcessAsync("slack", eventId, CancellationToken.None);
        await using var db = await platform.CatalogAsync();
        var revoked = await db.IntegrationConnections.AsNoTracking().SingleAsync(c => c.Id == connection.Id);
        revoked.Status.ShouldBe(IntegrationStatuses.Revoked);
        (await host.Api.Services.GetRequiredService<IntegrationTokenStore>().GetAsync(connection.Id, CancellationToken.None))
            .ShouldBeNull();
    }

    [Fact]
    public async Task Google_push_is_verified_by_our_channel_id_and_token()
    {
        var host = await HostAsync();
        var (organization, connection) = await ConnectedAsync(host, "google");
        var (channelId, token) = host.Providers.Channel(connection.Id);
        (await GoogleAsync(host, channelId, token, "sync", "1")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var first = await GoogleAsync(host, channelId, token, "exists", "2");
        (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean().ShouldBeFalse();
        var again = await GoogleAsync(host, channelId, token, "exists", "2");
        (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean().ShouldBeTrue();
        (await DeliveryAsync("google", $"{channelId}:2"))!.OrganizationId.ShouldBe(organization.Id);

        await Problem.ReadAsync(await GoogleAsync(host, channelId, token + "x", "exists", "3"), HttpStatusCode.Unauthorized);
        await Problem.ReadAsync(await GoogleAsync(host, channelId, null, "exists", "3"), HttpStatusCode.Unauthorized);
        await Problem.ReadAsync(await GoogleAsync(host, GoogleChannels.NewId(connection.Id), token, "exists", "3"),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await GoogleAsync(host, "not-ours", token, "exists", "3"), HttpStatusCode.NotFound);
        (await DeliveryAsync("google", $"{channelId}:3")).ShouldBeNull();
    }

    private async Task<(Organization Organization, IntegrationConnection Connection)> ConnectedAsync(IntegrationsHost host, string provider)
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        (await host.ConnectAsync(host.Api.ClientFor(owner.Id, organization.Slug), provider)).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        await using var db = await platform.CatalogAsync();
        var connection = await db.IntegrationConnections.AsNoTracking()
            .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == provider);
        connection.Status.ShouldBe(IntegrationStatuses.Connected, connection.LastError);
        return (organization, connection);
    }

    private async Task<IntegrationWebhookDelivery?> DeliveryAsync(string provider, string eventId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.IntegrationWebhookInbox.AsNoTracking().SingleOrDefaultAsync(d => d.Provider == provider && d.EventId == eventId);
    }

    private static Task<HttpResponseMessage> FathomAsync(IntegrationsHost host, Guid connectionId, string id, long timestamp, string body,
        string secret, bool tamper = false)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var signature = WebhookSignatures.SignStandardWebhook(secret, id, timestamp, bytes);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/fathom/{connectionId}")
        {
            Content = new ByteArrayContent(tamper ? Encoding.UTF8.GetBytes(body.Replace("Refused", "Accepted")) : bytes),
        };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signature);
        return host.Api.CreateClient().SendAsync(request);
    }

    private static Task<HttpResponseMessage> SavvyCalAsync(IntegrationsHost host, Guid connectionId, string body, string secret,
        string? header = null)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/savvycal/{connectionId}")
        { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("x-savvycal-signature",
            header ?? "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), bytes)));
        return host.Api.CreateClient().SendAsync(request);
    }

    private static Task<HttpResponseMessage> SlackAsync(IntegrationsHost host, long timestamp, string body, int? retry = null,
        string secret = OAuthProvidersStub.SlackSigningSecret)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var stamp = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture);
        byte[] signed = [.. Encoding.UTF8.GetBytes($"v0:{stamp}:"), .. bytes];
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/slack/events") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-Slack-Request-Timestamp", stamp);
        request.Headers.Add("X-Slack-Signature", "v0=" + Convert.ToHexStringLower(mac));
        if (retry is { } number)
        {
            request.Headers.Add("X-Slack-Retry-Num", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("X-Slack-Retry-Reason", "http_timeout");
        }

        return host.Api.CreateClient().SendAsync(request);
    }

    private static Task<HttpResponseMessage> GoogleAsync(IntegrationsHost host, string channelId, string? token,
        string state, string number)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/google/calendar") { Content = new ByteArrayContent([]) };
        request.Headers.Add("X-Goog-Channel-ID", channelId);
        if (token is not null)
        {
            request.Headers.Add("X-Goog-Channel-Token", token);
        }

        request.Headers.Add("X-Goog-Resource-ID", "ret08u3rv24htgh289g");
        request.Headers.Add("X-Goog-Resource-URI", "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json");
        request.Headers.Add("X-Goog-Resource-State", state);
        request.Headers.Add("X-Goog-Message-Number", number);
        return host.Api.CreateClient().SendAsync(request);
    }

    internal static string FathomMeeting(string title) => new JsonObject
    {
        ["title"] = title,
        ["meeting_title"] = title,
        ["recording_id"] = Random.Shared.Next(100000, 999999),
        ["url"] = "https://fathom.video/calls/123456",
        ["share_url"] = "https://fathom.video/share/abc",
        ["created_at"] = "2026-12-01T10:31:00Z",
        ["scheduled_start_time"] = "2026-12-01T10:00:00Z",
        ["scheduled_end_time"] = "2026-12-01T10:30:00Z",
        ["recording_start_time"] = "2026-12-01T10:01:00Z",
        ["recording_end_time"] = "2026-12-01T10:29:00Z",
        ["calendar_invitees"] = new JsonArray
        {
            new JsonObject { ["name"] = "Ada Buyer", ["email"] = "ada@customer.example", ["is_external"] = true },
            new JsonObject { ["name"] = "Sam Seller", ["email"] = "sam@cleancrm.example", ["is_external"] = false },
        },
        ["transcript"] = new JsonArray
        {
            new JsonObject
            {
                ["speaker"] = new JsonObject { ["display_name"] = "Ada Buyer",
                    ["matched_calendar_invitee_email"] = "ada@customer.example" },
                ["text"] = "We need this live by March.", ["timestamp"] = "00:01:05",
            },
        },
        ["default_summary"] = new JsonObject { ["template_name"] = "general", ["markdown_formatted"] = "## Summary\nGo-live in March." },
        ["action_items"] = new JsonArray
        {
            new JsonObject
            {
                ["description"] = "Send the proposal", ["user_generated"] = false, ["completed"] = false,
                ["recording_timestamp"] = "00:10:12", ["recording_playback_url"] = "https://fathom.video/calls/123456?t=612",
                ["assignee"] = new JsonObject { ["name"] = "Sam Seller", ["email"] = "sam@cleancrm.example", ["team"] = "Sales" },
            },
        },
    }.ToJsonString();

    private static (string Id, string Body) SavvyCalEvent(string type)
    {
        var id = "evt_" + Guid.NewGuid().ToString("N")[..16];
        return (id, new JsonObject
        {
            ["type"] = type,
            ["id"] = id,
            ["version"] = "1.0",
            ["occurred_at"] = "2026-12-01T09:00:00Z",
            ["payload"] = new JsonObject
            {
                ["id"] = "bk_" + Guid.NewGuid().ToString("N")[..10],
                ["state"] = "confirmed",
                ["summary"] = "Intro call",
                ["start_at"] = "2026-12-10T15:00:00Z",
                ["end_at"] = "2026-12-10T15:30:00Z",
                ["attendees"] = new JsonArray
                {
                    new JsonObject { ["email"] = "lin@prospect.example", ["display_name"] = "Lin Prospect", ["is_organizer"] = false },
                },
            },
        }.ToJsonString());
    }

    private static string SlackEvent(string eventId, string teamId, string type) => new JsonObject
    {
        ["token"] = "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        ["team_id"] = teamId,
        ["api_app_id"] = "A0KRD7HC3",
        ["event"] = new JsonObject { ["type"] = type, ["event_ts"] = "1360782804.083113" },
        ["type"] = "event_callback",
        ["event_id"] = eventId,
        ["event_time"] = 1360782804,
    }.ToJsonString();
}
