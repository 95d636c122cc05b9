using System.ComponentModel;
using System.Globalization;
using System.Net;
using System.Text.Json;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using static CleanCrm.Infrastructure.Integrations.Webhooks.JsonFields;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// Google Calendar → calendar events (external id <c>google:{event id}</c>): a full sync of the primary calendar from 30 days
/// back to 90 days ahead on connect, then incremental syncs with the <c>nextSyncToken</c> on every push notification.
/// A <c>410 Gone</c> (the sync token expired) wipes the calendar's events and syncs in full again. Cancelled events are
/// deleted; events are linked to contacts by attendee email.
/// </summary>
public sealed class GoogleCalendarSync(
    IDbContextFactory<CatalogDbContext> catalog,
    IntegrationTokenStore tokens,
    ProviderApi api,
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    TimeProvider clock) : IWebhookHandler
{
    public const string SyncTokenKey = "sync_token";
    public static readonly TimeSpan Past = TimeSpan.FromDays(30);
    public static readonly TimeSpan Ahead = TimeSpan.FromDays(90);
    private const int MaxPages = 100;

    public string Provider => IntegrationProviders.Google;

    /// <summary>A push notification: <c>sync</c> only announces the channel; <c>exists</c>/<c>not_exists</c> mean changes.</summary>
    public Task HandleAsync(IntegrationConnection connection, string type, string payload, CancellationToken cancellationToken) =>
        type == "sync" ? Task.CompletedTask : SyncAsync(connection.Id, cancellationToken);

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 600, 3600])]
    [DisplayName("Google Calendar sync {0}")]
    public async Task<int> SyncAsync(Guid connectionId, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections.AsNoTracking()
            .FirstOrDefaultAsync(c => c.Id == connectionId && c.Provider == IntegrationProviders.Google, cancellationToken);
        if (connection is null || connection.Status != IntegrationStatuses.Connected
            || await tokens.GetAsync(connectionId, cancellationToken) is not { } stored)
        {
            return 0;
        }

        await using var scope = await scopes.BeginAsync(connection.OrganizationId, cancellationToken);
        await using var tenant = contexts.CreateForCurrentScope();
        var syncToken = stored.Extra.GetValueOrDefault(SyncTokenKey);
        int changed;
        string? next;
        try
        {
            (changed, next) = await PullAsync(tenant, stored.AccessToken, syncToken, cancellationToken);
        }
        catch (HttpRequestException exception) when (exception.StatusCode == HttpStatusCode.Gone && syncToken is not null)
        {
            // The sync token is no longer valid: start over from a clean slate, as Google asks.
            await tenant.CalendarEvents.Where(e => e.Source == ActivitySource.Integration
                    && EF.Functions.Like(e.ExternalId!, "google:%") && e.DeletedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.DeletedAt, clock.GetUtcNow()), cancellationToken);
            (changed, next) = await PullAsync(tenant, stored.AccessToken, null, cancellationToken);
        }

        // Re-read: the refresh job may have replaced the access token meanwhile.
        var latest = await tokens.GetAsync(connectionId, cancellationToken) ?? stored;
        var extra = new Dictionary<string, string>(latest.Extra, StringComparer.Ordinal);
        if (next is not null)
        {
            extra[SyncTokenKey] = next;
        }

        await tokens.SetAsync(connectionId, latest with { Extra = extra }, cancellationToken);
        await db.IntegrationConnections.Where(c => c.Id == connectionId)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.LastSyncAt, clock.GetUtcNow()), cancellationToken);
        return changed;
    }

    private async Task<(int Changed, string? NextSyncToken)> PullAsync(TenantDbContext tenant, string accessToken, string? syncToken,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var changed = 0;
        string? pageToken = null;
        string? nextSyncToken = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var query = syncToken is null
                ? $"timeMin={Uri.EscapeDataString(Format(now - Past))}&timeMax={Uri.EscapeDataString(Format(now + Ahead))}"
                : $"syncToken={Uri.EscapeDataString(syncToken)}";
            var path = $"calendars/primary/events?{query}&singleEvents=true&showDeleted=true&maxResults=250"
                       + (pageToken is null ? string.Empty : $"&pageToken={Uri.EscapeDataString(pageToken)}");
            var body = await api.SendAsync(IntegrationProviders.Google, accessToken, HttpMethod.Get, path, null, cancellationToken);
            var items = body.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().ToList()
                : [];
            changed += await ApplyAsync(tenant, items, now, cancellationToken);
            pageToken = Text(body, "nextPageToken");
            nextSyncToken = Text(body, "nextSyncToken") ?? nextSyncToken;
            if (pageToken is null)
            {
                break;
            }
        }

        return (changed, nextSyncToken);
    }

    private static async Task<int> ApplyAsync(TenantDbContext tenant, List<JsonElement> items, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var ids = items.Select(i => Text(i, "id")).OfType<string>().Select(id => $"google:{id}").ToList();
        var existing = await tenant.CalendarEvents
            .Where(e => e.Source == ActivitySource.Integration && e.DeletedAt == null && ids.Contains(e.ExternalId!))
            .ToDictionaryAsync(e => e.ExternalId!, cancellationToken);
        var emails = items.SelectMany(Attendees).Distinct().ToList();
        var contacts = await tenant.Contacts.Where(c => c.DeletedAt == null && c.Email != null && emails.Contains(c.Email))
            .Select(c => new { c.Id, Email = c.Email!, c.CompanyId }).ToListAsync(cancellationToken);
        var changed = 0;
        foreach (var item in items)
        {
            if (Text(item, "id") is not { } id)
            {
                continue;
            }

            var externalId = $"google:{id}";
            var current = existing.GetValueOrDefault(externalId);
            if (Text(item, "status") == "cancelled")
            {
                if (current is not null)
                {
                    current.DeletedAt = now;
                    current.UpdatedAt = now;
                    changed++;
                }

                continue;
            }

            var (startsAt, allDay) = When(item, "start");
            var (endsAt, _) = When(item, "end");
            if (startsAt is null)
            {
                continue;
            }

            if (current is null)
            {
                current = new CalendarEvent
                {
                    Title = "Event",
                    Source = ActivitySource.Integration,
                    ExternalId = externalId,
                    CreatedAt = now,
                };
                tenant.CalendarEvents.Add(current);
                existing[externalId] = current;
            }

            var contact = Attendees(item).Select(email => contacts.FirstOrDefault(c => c.Email == email))
                .FirstOrDefault(c => c is not null);
            current.Title = Clip(Text(item, "summary") ?? "(no title)", 300)!;
            current.Description = Text(item, "description");
            current.Location = Clip(Text(item, "location"), 500);
            current.StartsAt = startsAt.Value;
            current.EndsAt = endsAt is { } end && end >= startsAt ? end : startsAt.Value;
            current.AllDay = allDay;
            current.ContactId = contact?.Id ?? current.ContactId;
            current.CompanyId = contact?.CompanyId ?? current.CompanyId;
            current.UpdatedAt = now;
            changed++;
        }

        await tenant.SaveChangesAsync(cancellationToken);
        return changed;
    }

    private static IEnumerable<string> Attendees(JsonElement item) =>
        item.TryGetProperty("attendees", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray()
                .Where(a => !(a.TryGetProperty("self", out var self) && self.ValueKind == JsonValueKind.True))
                .Select(a => Text(a, "email")?.Trim().ToLowerInvariant()).OfType<string>()
            : [];

    private static (DateTimeOffset? At, bool AllDay) When(JsonElement item, string name)
    {
        if (!item.TryGetProperty(name, out var when) || when.ValueKind != JsonValueKind.Object)
        {
            return (null, false);
        }

        if (Text(when, "dateTime") is { } dateTime
            && DateTimeOffset.TryParse(dateTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return (at.ToUniversalTime(), false);
        }

        return Text(when, "date") is { } date
               && DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? (new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), true)
            : (null, false);
    }

    private static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
