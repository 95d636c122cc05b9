using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>Google Calendar → calendar events: full sync, incremental sync on push, 410 Gone → wipe and full resync.</summary>
[Collection(PlatformCollection.Name)]
public sealed class GoogleCalendarSyncTests(SharedPlatform platform)
{
    [Fact]
    public async Task Full_sync_then_pushes_sync_incrementally_and_an_expired_sync_token_wipes_and_resyncs()
    {
        var host = await platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var ada = await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Ada", email = "ada@customer.example" });
        (await host.ConnectAsync(client, "google")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        IntegrationConnection connection;
        await using (var catalog = await platform.CatalogAsync())
        {
            connection = await catalog.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "google");
        }

        var tag = Guid.NewGuid().ToString("N")[..8];
        host.Providers.SetGoogleCalendar(
            [Event($"a{tag}", "Demo with Ada", "ada@customer.example"), Event($"b{tag}", "Offsite", null, allDay: true)],
            [Event($"a{tag}", "Demo with Ada (moved)", "ada@customer.example"), Cancelled($"b{tag}"), Event($"c{tag}", "New one", null)]);
        host.Providers.GoogleSyncTokenExpired = false;
        var sync = host.Api.Services.GetRequiredService<GoogleCalendarSync>();
        (await sync.SyncAsync(connection.Id, CancellationToken.None)).ShouldBe(2);

        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        async Task<object?> ScalarAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, tenant);
            return await command.ExecuteScalarAsync();
        }

        (await ScalarAsync($"SELECT contact_id FROM calendar_events WHERE external_id = 'google:a{tag}' AND deleted_at IS NULL"))
            .ShouldBe(ada);
        (await ScalarAsync($"SELECT all_day FROM calendar_events WHERE external_id = 'google:b{tag}' AND deleted_at IS NULL"))
            .ShouldBe(true);

        // A push notification → the webhook job → an incremental sync with the sync token of the full sync.
        var (channelId, token) = host.Providers.Channel(connection.Id);
        await PushAsync(host, channelId, token, "2");
        var job = host.Api.Services.GetRequiredService<IntegrationWebhookJob>();
        await job.ProcessAsync("google", $"{channelId}:2", CancellationToken.None);
        host.Providers.Calls.ShouldContain(c => c.Path == "/google/calendar/v3/calendars/primary/events");
        (await ScalarAsync($"SELECT title FROM calendar_events WHERE external_id = 'google:a{tag}' AND deleted_at IS NULL"))
            .ShouldBe("Demo with Ada (moved)");
        (await ScalarAsync($"SELECT count(*) FROM calendar_events WHERE external_id = 'google:b{tag}' AND deleted_at IS NULL"))
            .ShouldBe(0L);
        (await ScalarAsync($"SELECT count(*) FROM calendar_events WHERE external_id = 'google:c{tag}' AND deleted_at IS NULL"))
            .ShouldBe(1L);

        // The sync token expired: 410 Gone → the calendar's events are wiped and synced in full again.
        host.Providers.GoogleSyncTokenExpired = true;
        await PushAsync(host, channelId, token, "3");
        await job.ProcessAsync("google", $"{channelId}:3", CancellationToken.None);
        (await ScalarAsync($"SELECT title FROM calendar_events WHERE external_id = 'google:a{tag}' AND deleted_at IS NULL"))
            .ShouldBe("Demo with Ada");
        (await ScalarAsync($"SELECT count(*) FROM calendar_events WHERE external_id = 'google:b{tag}' AND deleted_at IS NULL"))
            .ShouldBe(1L);
        (await ScalarAsync($"SELECT count(*) FROM calendar_events WHERE external_id = 'google:c{tag}' AND deleted_at IS NULL"))
            .ShouldBe(0L);
        var stored = await host.Api.Services.GetRequiredService<IntegrationTokenStore>().GetAsync(connection.Id, CancellationToken.None);
        stored!.Extra[GoogleCalendarSync.SyncTokenKey].ShouldBe("sync-1");
        await using var catalogAfter = await platform.CatalogAsync();
        (await catalogAfter.IntegrationConnections.AsNoTracking().SingleAsync(c => c.Id == connection.Id)).LastSyncAt.ShouldNotBeNull();
    }

    private static async Task PushAsync(IntegrationsHost host, string channelId, string token, string number)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/google/calendar") { Content = new ByteArrayContent([]) };
        request.Headers.Add("X-Goog-Channel-ID", channelId);
        request.Headers.Add("X-Goog-Channel-Token", token);
        request.Headers.Add("X-Goog-Resource-State", "exists");
        request.Headers.Add("X-Goog-Message-Number", number);
        (await host.Api.CreateClient().SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static JsonNode Event(string id, string summary, string? attendee, bool allDay = false)
    {
        var start = DateTimeOffset.UtcNow.Date.AddDays(3).AddHours(10);
        var item = new JsonObject
        {
            ["kind"] = "calendar#event",
            ["id"] = id,
            ["status"] = "confirmed",
            ["summary"] = summary,
            ["start"] = allDay
                ? new JsonObject { ["date"] = start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }
                : new JsonObject
                {
                    ["dateTime"] = start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    ["timeZone"] = "UTC",
                },
            ["end"] = allDay
                ? new JsonObject { ["date"] = start.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }
                : new JsonObject
                {
                    ["dateTime"] = start.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    ["timeZone"] = "UTC",
                },
        };
        var attendees = new JsonArray { new JsonObject { ["email"] = "sam@cleancrm.example", ["self"] = true, ["organizer"] = true } };
        if (attendee is not null)
        {
            attendees.Add(new JsonObject { ["email"] = attendee, ["responseStatus"] = "accepted" });
        }

        item["attendees"] = attendees;
        return item;
    }

    private static JsonNode Cancelled(string id) => new JsonObject { ["kind"] = "calendar#event", ["id"] = id, ["status"] = "cancelled" };
}
