using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>The recurring integration jobs: Google push channel renewal and the webhook inbox sweep.</summary>
[Collection(PlatformCollection.Name)]
public sealed class IntegrationMaintenanceJobsTests(SharedPlatform platform)
{
    private Task<IntegrationsHost> HostAsync() =>
        platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));

    [Fact]
    public async Task A_google_channel_about_to_expire_is_replaced_by_a_new_one_before_the_old_is_stopped()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        (await host.ConnectAsync(host.Api.ClientFor(owner.Id, organization.Slug), "google")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        Guid connectionId;
        await using (var catalog = await platform.CatalogAsync())
        {
            connectionId = (await catalog.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "google")).Id;
        }

        var job = host.Api.Services.GetRequiredService<GoogleChannelRenewalJob>();
        var store = host.Api.Services.GetRequiredService<IntegrationTokenStore>();
        var (oldId, oldToken) = host.Providers.Channel(connectionId);
        (await job.RenewOneAsync(connectionId, CancellationToken.None)).ShouldBeFalse("a channel with a week to live is left alone");
        host.Providers.StoppedChannels.ShouldNotContain(oldId);

        // Two hours left: due.
        var stored = (await store.GetAsync(connectionId, CancellationToken.None))!;
        var soon = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        await store.SetAsync(connectionId, stored with
        {
            Extra = new Dictionary<string, string>(stored.Extra) { [GoogleChannels.ExpirationKey] = soon },
        }, CancellationToken.None);
        (await job.RunAsync(CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(1);

        var (newId, newToken) = host.Providers.Channel(connectionId);
        newId.ShouldNotBe(oldId);
        newToken.ShouldNotBe(oldToken);
        host.Providers.StoppedChannels.ShouldContain(oldId, "the old channel is stopped once the new one exists");
        var renewed = (await store.GetAsync(connectionId, CancellationToken.None))!;
        renewed.Extra[WebhookReceiver.ChannelIdKey].ShouldBe(newId);
        long.Parse(renewed.Extra[GoogleChannels.ExpirationKey], CultureInfo.InvariantCulture)
            .ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddDays(6).ToUnixTimeMilliseconds());
        renewed.AccessToken.ShouldBe(stored.AccessToken, "the tokens are kept");

        // Notifications of the new channel are accepted; the stopped one is no longer ours.
        (await PushAsync(host, newId, newToken, "7")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PushAsync(host, oldId, oldToken, "8")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await job.RenewOneAsync(connectionId, CancellationToken.None)).ShouldBeFalse("renewed channels are not renewed again");
    }

    [Fact]
    public async Task A_delivery_whose_job_was_lost_is_requeued_after_the_grace_period_and_processed_once()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        (await host.ConnectAsync(host.Api.ClientFor(owner.Id, organization.Slug), "savvycal")).StatusCode
            .ShouldBe(HttpStatusCode.Redirect);
        Guid connectionId;
        await using (var catalog = await platform.CatalogAsync())
        {
            connectionId = (await catalog.IntegrationConnections.AsNoTracking()
                .SingleAsync(c => c.OrganizationId == organization.Id && c.Provider == "savvycal")).Id;
        }

        var eventId = "evt_" + Guid.NewGuid().ToString("N")[..16];
        var booking = "bk_" + Guid.NewGuid().ToString("N")[..10];
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["type"] = "event.created",
            ["id"] = eventId,
            ["version"] = "1.0",
            ["occurred_at"] = "2026-12-01T09:00:00Z",
            ["payload"] = new JsonObject
            {
                ["id"] = booking,
                ["state"] = "confirmed",
                ["summary"] = "Sweep call",
                ["start_at"] = "2026-12-20T10:00:00Z",
                ["end_at"] = "2026-12-20T10:30:00Z",
                ["attendees"] = new JsonArray
                {
                    new JsonObject { ["email"] = "kim@sweep.example", ["display_name"] = "Kim Sweep", ["is_organizer"] = false },
                },
            },
        }.ToJsonString());
        var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/savvycal/{connectionId}")
        {
            Content = new ByteArrayContent(body),
        };
        request.Headers.Add("x-savvycal-signature", "sha256=" + Convert.ToHexStringLower(
            HMACSHA256.HashData(Encoding.UTF8.GetBytes(host.Providers.WebhookSecret(connectionId)), body)));
        (await host.Api.CreateClient().SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The job queued with the delivery is lost (a crash between the insert and the queue, a purged queue).
        var storage = host.Api.Services.GetRequiredService<JobStorage>();
        var jobs = host.Api.Services.GetRequiredService<IBackgroundJobClient>();
        foreach (var queued in QueuedFor(storage, eventId))
        {
            jobs.Delete(queued).ShouldBeTrue();
        }

        QueuedFor(storage, eventId).ShouldBeEmpty();
        var sweep = host.Api.Services.GetRequiredService<WebhookInboxSweepJob>();
        await sweep.RunAsync(CancellationToken.None);
        QueuedFor(storage, eventId).ShouldBeEmpty("within the grace period the delivery's own job may still come");

        await using (var catalog = await platform.CatalogAsync())
        {
            await catalog.Database.ExecuteSqlInterpolatedAsync(
                $"UPDATE integration_webhook_inbox SET received_at = now() - interval '20 minutes' WHERE event_id = {eventId}");
        }

        (await sweep.RunAsync(CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(1);
        QueuedFor(storage, eventId).Count.ShouldBe(1);
        await sweep.RunAsync(CancellationToken.None);
        QueuedFor(storage, eventId).Count.ShouldBe(2, "a second sweep before the job ran queues it again; processing stays single");

        // Both queued jobs run (and a late original would too): the booking is applied once, the row is done.
        var process = host.Api.Services.GetRequiredService<IntegrationWebhookJob>();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => process.ProcessAsync("savvycal", eventId, CancellationToken.None)));
        (await PlatformEnvironment.CountRowsAsync(organization,
            $"SELECT count(*) FROM calendar_events WHERE external_id = 'savvycal:{booking}' AND deleted_at IS NULL")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(organization,
            "SELECT count(*) FROM activities WHERE subject = 'Meeting booked: Sweep call'")).ShouldBe(1);
        await using (var catalog = await platform.CatalogAsync())
        {
            var delivery = await catalog.IntegrationWebhookInbox.AsNoTracking().SingleAsync(d => d.EventId == eventId);
            delivery.ProcessedAt.ShouldNotBeNull();
            delivery.Attempts.ShouldBe(1);
        }

        foreach (var queued in QueuedFor(storage, eventId))
        {
            jobs.Delete(queued);
        }

        await sweep.RunAsync(CancellationToken.None);
        QueuedFor(storage, eventId).ShouldBeEmpty("a processed delivery is never queued again");
    }

    /// <summary>
    /// The ids of the jobs for a delivery that are still waiting in the queue. A deleted job stays in the queue table until a
    /// worker fetches it, so the job's own state decides.
    /// </summary>
    private static List<string> QueuedFor(JobStorage storage, string eventId)
    {
        using var connection = storage.GetConnection();
        return [.. storage.GetMonitoringApi().EnqueuedJobs(HangfireStorage.DefaultQueue, 0, 10_000)
            .Where(j => j.Value.Job?.Type == typeof(IntegrationWebhookJob) && (string)j.Value.Job.Args[1] == eventId)
            .Select(j => j.Key)
            .Where(id => connection.GetJobData(id)?.State == EnqueuedState.StateName)];
    }

    private static async Task<HttpResponseMessage> PushAsync(IntegrationsHost host, string channelId, string token, string number)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/google/calendar") { Content = new ByteArrayContent([]) };
        request.Headers.Add("X-Goog-Channel-ID", channelId);
        request.Headers.Add("X-Goog-Channel-Token", token);
        request.Headers.Add("X-Goog-Resource-State", "exists");
        request.Headers.Add("X-Goog-Message-Number", number);
        return await host.Api.CreateClient().SendAsync(request);
    }
}
