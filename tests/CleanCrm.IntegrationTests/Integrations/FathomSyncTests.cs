using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>What Fathom does to the CRM: meetings with attendees, transcript and summary, timeline activities, smart tasks.</summary>
[Collection(PlatformCollection.Name)]
public sealed class FathomSyncTests(SharedPlatform platform)
{
    private Task<IntegrationsHost> HostAsync() =>
        platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));

    [Fact]
    public async Task A_recording_becomes_a_meeting_with_attendees_transcript_activities_and_smart_tasks_once()
    {
        var host = await HostAsync();
        var seller = $"seller-{Guid.NewGuid():N}@cleancrm.example";
        var owner = await platform.CreateUserAsync(seller, "Sam Seller");
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Customer Inc" });
        var ada = await OrgScopedEndpoints.CreateAsync(client, "contacts",
            new { firstName = "Ada", lastName = "Buyer", email = "ada@customer.example", companyId = company });
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Customer rollout", companyId = company });
        (await host.ConnectAsync(client, "fathom")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        await using (var catalog = await platform.CatalogAsync())
        {
            var connection = await catalog.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "fathom");
            var title = "Rollout kickoff " + Guid.NewGuid().ToString("N")[..6];
            var recording = Random.Shared.Next(1_000_000, 9_999_999);
            var body = Meeting(title, recording, seller);
            var job = host.Api.Services.GetRequiredService<IntegrationWebhookJob>();
            foreach (var id in new[] { "msg_a" + Guid.NewGuid().ToString("N"), "msg_b" + Guid.NewGuid().ToString("N") })
            {
                // Two distinct deliveries of the same recording (Fathom re-sent it): one meeting.
                var response = await DeliverAsync(host, connection.Id, id, body, host.Providers.WebhookSecret(connection.Id));
                response.StatusCode.ShouldBe(HttpStatusCode.OK);
                await job.ProcessAsync("fathom", id, CancellationToken.None);
                (await catalog.IntegrationWebhookInbox.AsNoTracking().SingleAsync(d => d.Provider == "fathom" && d.EventId == id))
                    .LastError.ShouldBeNull();
            }

            await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
            await tenant.OpenAsync();
            (await ScalarAsync(tenant, $"SELECT count(*) FROM meetings WHERE title = '{title}'")).ShouldBe(1L);
            var meetingId = (Guid)(await ScalarAsync(tenant, $"SELECT id FROM meetings WHERE title = '{title}'"))!;
            // The summary is the meeting's summary (no longer its description), and it raised meeting.summarized once.
            ((string)(await ScalarAsync(tenant, $"SELECT summary FROM meetings WHERE id = '{meetingId}'"))!
                ).ShouldContain("Go-live in March");
            (await ScalarAsync(tenant, $"SELECT description FROM meetings WHERE id = '{meetingId}'")).ShouldBe(DBNull.Value);
            (await ScalarAsync(tenant,
                $"SELECT count(*) FROM domain_events WHERE type = 'meeting.summarized' AND entity_id = '{meetingId}'")).ShouldBe(1L);
            (await ScalarAsync(tenant,
                $"SELECT contact_id FROM meeting_attendees WHERE meeting_id = '{meetingId}' AND email = 'ada@customer.example'"))
                .ShouldBe(ada);
            (await ScalarAsync(tenant, $"SELECT member_id FROM meeting_attendees WHERE meeting_id = '{meetingId}' AND email = '{seller}'"))
                .ShouldBe(owner.Id);
            ((string)(await ScalarAsync(tenant, $"SELECT content FROM meeting_transcripts WHERE meeting_id = '{meetingId}'"))!)
                .ShouldContain("[00:01:05] Ada Buyer: We need this live by March.");

            // The external invitee not yet in the CRM became a contact; the seller (a member) did not.
            (await ScalarAsync(tenant, "SELECT source FROM contacts WHERE email = 'lin@prospect.example' AND deleted_at IS NULL")
                ).ShouldBe("fathom");
            (await ScalarAsync(tenant, $"SELECT count(*) FROM contacts WHERE email = '{seller}'")).ShouldBe(0L);

            // Timelines: each matched contact (with its company) and the open deal of that company.
            (await ScalarAsync(tenant,
                $"SELECT count(*) FROM activities WHERE type = 'meeting' AND subject = '{title}' AND contact_id = '{ada}' "
                + $"AND company_id = '{company}'")).ShouldBe(1L);
            (await ScalarAsync(tenant, $"SELECT count(*) FROM activities WHERE subject = '{title}' AND deal_id = '{deal}'")).ShouldBe(1L);

            // Action items → smart tasks assigned to the matched member.
            (await ScalarAsync(tenant, $"SELECT assignee_id FROM tasks WHERE origin = 'smart' AND description LIKE '%{title}%'")
                ).ShouldBe(owner.Id);
            (await ScalarAsync(tenant, $"SELECT count(*) FROM tasks WHERE description LIKE '%{title}%'")).ShouldBe(1L);
        }
    }

    [Fact]
    public async Task Without_smart_tasks_action_items_make_no_tasks_and_the_backfill_imports_the_last_30_days_once()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Free);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        (await host.ConnectAsync(client, "fathom")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        await using var catalog = await platform.CatalogAsync();
        var connection = await catalog.IntegrationConnections.AsNoTracking()
            .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "fathom");
        var first = "Backfilled A " + Guid.NewGuid().ToString("N")[..6];
        var second = "Backfilled B " + Guid.NewGuid().ToString("N")[..6];
        host.Providers.SetFathomMeetings(
            [JsonNode.Parse(Meeting(first, Random.Shared.Next(1_000_000, 9_999_999), "x@cleancrm.example"))!],
            [JsonNode.Parse(Meeting(second, Random.Shared.Next(1_000_000, 9_999_999), "x@cleancrm.example"))!]);

        var job = host.Api.Services.GetRequiredService<FathomBackfillJob>();
        (await job.RunAsync(connection.Id, CancellationToken.None)).ShouldBe(2);
        (await job.RunAsync(connection.Id, CancellationToken.None)).ShouldBe(0, "meetings already imported are not imported again");
        host.Providers.Calls.Where(c => c.Path == "/fathom/external/v1/meetings").ShouldNotBeEmpty();

        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        (await ScalarAsync(tenant, $"SELECT count(*) FROM meetings WHERE title IN ('{first}', '{second}')")).ShouldBe(2L);
        (await ScalarAsync(tenant, "SELECT count(*) FROM tasks")).ShouldBe(0L, "smart_tasks is not on the free plan");
        (await catalog.IntegrationConnections.AsNoTracking().SingleAsync(c => c.Id == connection.Id)).LastSyncAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task With_contact_creation_off_external_invitees_stay_unmatched_attendees_and_no_contact_is_created()
    {
        var host = await platform.SharedAsync("integrations-host-no-contacts", () => Task.FromResult(new IntegrationsHost(platform,
            new Dictionary<string, string?> { ["CleanCrm:Integrations:Fathom:CreateContacts"] = "false" })));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var ada = await OrgScopedEndpoints.CreateAsync(client, "contacts",
            new { firstName = "Ada", lastName = "Buyer", email = "ada@customer.example" });
        (await host.ConnectAsync(client, "fathom")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        Guid connectionId;
        await using (var catalog = await platform.CatalogAsync())
        {
            connectionId = (await catalog.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "fathom")).Id;
        }

        var title = "No new contacts " + Guid.NewGuid().ToString("N")[..6];
        host.Providers.SetFathomMeetings([JsonNode.Parse(Meeting(title, Random.Shared.Next(1_000_000, 9_999_999), "x@cleancrm.example"))!]);
        (await host.Api.Services.GetRequiredService<FathomBackfillJob>().RunAsync(connectionId, CancellationToken.None)).ShouldBe(1);

        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        var meetingId = (Guid)(await ScalarAsync(tenant, $"SELECT id FROM meetings WHERE title = '{title}'"))!;
        (await ScalarAsync(tenant, "SELECT count(*) FROM contacts WHERE email = 'lin@prospect.example'")).ShouldBe(0L);
        (await ScalarAsync(tenant,
                $"SELECT count(*) FROM meeting_attendees WHERE meeting_id = '{meetingId}' AND email = 'lin@prospect.example' "
                + "AND contact_id IS NULL"))
            .ShouldBe(1L, "the invitee is still an attendee of the meeting");
        (await ScalarAsync(tenant,
                $"SELECT contact_id FROM meeting_attendees WHERE meeting_id = '{meetingId}' AND email = 'ada@customer.example'"))
            .ShouldBe(ada, "existing contacts are still matched");
        (await ScalarAsync(tenant, "SELECT count(*) FROM contacts")).ShouldBe(1L);
    }

    [Fact]
    public async Task An_organization_chooses_contact_creation_for_itself_and_bad_choices_are_refused()
    {
        // The host keeps the platform default (contacts are created); one organization turns it off, another does not.
        var host = await HostAsync();
        var (quiet, quietClient, quietConnection) = await FathomOrgAsync(host);
        var (defaultOrg, defaultClient, defaultConnection) = await FathomOrgAsync(host);

        var initial = await quietClient.GetFromJsonAsync<JsonElement>("/api/v1/integrations/fathom/settings");
        (initial.GetProperty("createContacts").GetBoolean(), initial.GetProperty("isDefault").GetBoolean()).ShouldBe((true, true));
        var missing = await quietClient.PutAsJsonAsync("/api/v1/integrations/fathom/settings", new { });
        (await Problem.ReadAsync(missing, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("createContacts");
        var wrongType = await quietClient.PutAsync("/api/v1/integrations/fathom/settings",
            new StringContent("{\"createContacts\":\"no\"}", Encoding.UTF8, "application/json"));
        wrongType.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await quietClient.GetFromJsonAsync<JsonElement>("/api/v1/integrations/fathom/settings")).GetProperty("isDefault")
            .GetBoolean().ShouldBeTrue("a refused choice stores nothing");

        var saved = await quietClient.PutAsJsonAsync("/api/v1/integrations/fathom/settings", new { createContacts = false });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK);
        var chosen = await saved.Content.ReadFromJsonAsync<JsonElement>();
        (chosen.GetProperty("createContacts").GetBoolean(), chosen.GetProperty("isDefault").GetBoolean()).ShouldBe((false, false));
        (await defaultClient.GetFromJsonAsync<JsonElement>("/api/v1/integrations/fathom/settings")).GetProperty("isDefault")
            .GetBoolean().ShouldBeTrue("one organization's choice is not another's");
        var outsider = host.Api.ClientFor(Guid.NewGuid(), quiet.Slug);
        (await outsider.PutAsJsonAsync("/api/v1/integrations/fathom/settings", new { createContacts = true })).StatusCode
            .ShouldBe(HttpStatusCode.NotFound, "a non-member cannot change another organization's choice");
        (await quietClient.GetFromJsonAsync<JsonElement>("/api/v1/integrations/fathom/settings")).GetProperty("createContacts")
            .GetBoolean().ShouldBeFalse();

        var job = host.Api.Services.GetRequiredService<FathomBackfillJob>();
        var quietTitle = "Quiet " + Guid.NewGuid().ToString("N")[..6];
        host.Providers.SetFathomMeetings(
            [JsonNode.Parse(Meeting(quietTitle, Random.Shared.Next(1_000_000, 9_999_999), "x@cleancrm.example"))!]);
        (await job.RunAsync(quietConnection, CancellationToken.None)).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(quiet, "SELECT count(*) FROM contacts WHERE email = 'lin@prospect.example'"))
            .ShouldBe(0, "the organization turned contact creation off");
        (await PlatformEnvironment.CountRowsAsync(quiet, "SELECT count(*) FROM meeting_attendees WHERE email = 'lin@prospect.example'"))
            .ShouldBe(1, "the invitee stays an unmatched attendee");

        var defaultTitle = "Default " + Guid.NewGuid().ToString("N")[..6];
        host.Providers.SetFathomMeetings(
            [JsonNode.Parse(Meeting(defaultTitle, Random.Shared.Next(1_000_000, 9_999_999), "x@cleancrm.example"))!]);
        (await job.RunAsync(defaultConnection, CancellationToken.None)).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(defaultOrg, "SELECT count(*) FROM contacts WHERE email = 'lin@prospect.example'"))
            .ShouldBe(1, "the platform default still applies to an organization that did not choose");
    }

    private async Task<(Organization Organization, HttpClient Client, Guid ConnectionId)> FathomOrgAsync(IntegrationsHost host)
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        (await host.ConnectAsync(client, "fathom")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        await using var catalog = await platform.CatalogAsync();
        var connection = await catalog.IntegrationConnections.AsNoTracking()
            .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "fathom");
        return (organization, client, connection.Id);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static Task<HttpResponseMessage> DeliverAsync(IntegrationsHost host, Guid connectionId, string id, string body, string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/fathom/{connectionId}") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", WebhookSignatures.SignStandardWebhook(secret, id, timestamp, bytes));
        return host.Api.CreateClient().SendAsync(request);
    }

    private static string Meeting(string title, int recording, string sellerEmail)
    {
        var meeting = JsonNode.Parse(IntegrationWebhookTests.FathomMeeting(title))!.AsObject();
        meeting["recording_id"] = recording;
        var invitees = meeting["calendar_invitees"]!.AsArray();
        invitees[1]!["email"] = sellerEmail;
        invitees.Add(new JsonObject { ["name"] = "Lin Prospect", ["email"] = "lin@prospect.example", ["is_external"] = true });
        meeting["action_items"]![0]!["assignee"]!["email"] = sellerEmail;
        return meeting.ToJsonString();
    }
}
