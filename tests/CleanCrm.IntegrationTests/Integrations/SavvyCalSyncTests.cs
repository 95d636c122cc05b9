using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>What SavvyCal does to the CRM: bookings become calendar events on the booker's contact, in any delivery order.</summary>
[Collection(PlatformCollection.Name)]
public sealed class SavvyCalSyncTests(SharedPlatform platform)
{
    [Fact]
    public async Task Bookings_become_calendar_events_with_a_contact_and_converge_whatever_the_delivery_order()
    {
        var host = await platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        (await host.ConnectAsync(host.Api.ClientFor(owner.Id, organization.Slug), "savvycal")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        Guid connectionId;
        await using (var catalog = await platform.CatalogAsync())
        {
            connectionId = (await catalog.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "savvycal")).Id;
        }

        var secret = host.Providers.WebhookSecret(connectionId);
        var job = host.Api.Services.GetRequiredService<IntegrationWebhookJob>();
        async Task DeliverAsync(string type, string booking, string startAt)
        {
            var id = "evt_" + Guid.NewGuid().ToString("N")[..16];
            var body = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["type"] = type,
                ["id"] = id,
                ["version"] = "1.0",
                ["occurred_at"] = "2026-12-01T09:00:00Z",
                ["payload"] = new JsonObject
                {
                    ["id"] = booking,
                    ["state"] = "confirmed",
                    ["summary"] = "Intro call",
                    ["start_at"] = startAt,
                    ["end_at"] =
                        DateTimeOffset.Parse(startAt, System.Globalization.CultureInfo.InvariantCulture).AddMinutes(30).ToString("O"),
                    ["attendees"] = new JsonArray
                    {
                        new JsonObject { ["email"] = "owner@savvy.example", ["display_name"] = "Owner", ["is_organizer"] = true },
                        new JsonObject { ["email"] = "Lin@Prospect.example", ["display_name"] = "Lin Prospect", ["is_organizer"] = false },
                    },
                },
            }.ToJsonString());
            var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/savvycal/{connectionId}")
            {
                Content = new ByteArrayContent(body),
            };
            request.Headers.Add("x-savvycal-signature",
                "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
            (await host.Api.CreateClient().SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.OK);
            await job.ProcessAsync("savvycal", id, CancellationToken.None);
        }

        // In order; rescheduled before created; cancelled before created.
        await DeliverAsync("event.created", "bk_inorder", "2026-12-10T15:00:00Z");
        await DeliverAsync("event.rescheduled", "bk_inorder", "2026-12-11T15:00:00Z");
        await DeliverAsync("event.rescheduled", "bk_late", "2026-12-12T09:00:00Z");
        await DeliverAsync("event.created", "bk_late", "2026-12-10T09:00:00Z");
        await DeliverAsync("event.canceled", "bk_gone", "2026-12-13T09:00:00Z");
        await DeliverAsync("event.created", "bk_gone", "2026-12-13T09:00:00Z");

        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        async Task<object?> ScalarAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, tenant);
            return await command.ExecuteScalarAsync();
        }

        var contact = (Guid)(await ScalarAsync("SELECT id FROM contacts WHERE email = 'lin@prospect.example' AND deleted_at IS NULL"))!;
        (await ScalarAsync("SELECT starts_at FROM calendar_events WHERE external_id = 'savvycal:bk_inorder' AND deleted_at IS NULL"))
            .ShouldBe(new DateTime(2026, 12, 11, 15, 0, 0, DateTimeKind.Utc));
        (await ScalarAsync("SELECT starts_at FROM calendar_events WHERE external_id = 'savvycal:bk_late' AND deleted_at IS NULL"))
            .ShouldBe(new DateTime(2026, 12, 12, 9, 0, 0, DateTimeKind.Utc));
        (await ScalarAsync("SELECT count(*) FROM calendar_events WHERE external_id = 'savvycal:bk_gone' AND deleted_at IS NULL"))
            .ShouldBe(0L);
        (await ScalarAsync($"SELECT count(*) FROM calendar_events WHERE contact_id = '{contact}'")).ShouldBe(3L);
        (await ScalarAsync($"SELECT count(*) FROM activities WHERE contact_id = '{contact}' AND subject = 'Meeting booked: Intro call'"))
            .ShouldBe(2L);
        (await ScalarAsync($"SELECT count(*) FROM contacts WHERE email = 'owner@savvy.example'")).ShouldBe(0L);
    }
}
