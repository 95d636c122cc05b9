using System.Globalization;
using System.Text;
using System.Text.Json;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using static CleanCrm.Infrastructure.Integrations.Webhooks.JsonFields;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// Fathom's "new meeting content ready" → a meeting in the organization's database: attendees matched to contacts and
/// members by email (external invitees not yet in the CRM become contacts unless the organization's Fathom settings, or without them
/// <c>Fathom:CreateContacts</c>, say no), the
/// transcript and the summary, an activity on the timelines of the matched contacts (with their companies) and of their
/// open deals, and — with <c>smart_tasks</c> —
/// the action items as smart tasks assigned to the matched member. The summary is the meeting's <c>summary</c>, which raises
/// <c>meeting.summarized</c> (Slack's "new meeting summary" goes through that event). A calendar event with the external id
/// <c>fathom:{recording_id}</c> links the meeting; its unique index makes a redelivered recording a no-op.
/// </summary>
public sealed class FathomWebhookHandler(ITenantScopeFactory scopes, TenantDbContextFactory contexts, IFeatures features,
    IOptions<IntegrationOptions> options, TimeProvider clock) : IWebhookHandler
{
    public string Provider => IntegrationProviders.Fathom;

    public async Task HandleAsync(IntegrationConnection connection, string type, string payload, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(payload);
        var root = document.RootElement;
        if (!root.TryGetProperty("recording_id", out var recording))
        {
            return;
        }

        var smartTasks = await features.IsEnabledAsync(connection.OrganizationId, PremiumFeatures.SmartTasks, cancellationToken);
        await using var scope = await scopes.BeginAsync(connection.OrganizationId, cancellationToken);
        await using var db = contexts.CreateForCurrentScope();
        // Slack hears of the summary through the outbox (meeting.summarized, docs/WORKFLOWS.md), when the org chose it.
        await ImportAsync(db, root, $"fathom:{recording}", smartTasks, cancellationToken);
    }

    /// <summary>Writes one Fathom meeting (also used by the backfill); false when it was imported before.</summary>
    public async Task<bool> ImportAsync(TenantDbContext db, JsonElement meeting, string externalId, bool smartTasks,
        CancellationToken cancellationToken)
    {
        if (await db.CalendarEvents.AnyAsync(e => e.Source == ActivitySource.Integration && e.ExternalId == externalId
                && e.DeletedAt == null, cancellationToken))
        {
            return false;
        }

        var now = clock.GetUtcNow();
        var title = Clip(Text(meeting, "title") ?? Text(meeting, "meeting_title") ?? "Meeting", 300)!;
        var startsAt = Time(meeting, "recording_start_time") ?? Time(meeting, "scheduled_start_time") ?? now;
        var endsAt = Time(meeting, "recording_end_time") ?? Time(meeting, "scheduled_end_time") ?? startsAt;
        endsAt = endsAt < startsAt ? startsAt : endsAt;
        var summary = meeting.TryGetProperty("default_summary", out var s) && s.ValueKind == JsonValueKind.Object
            ? Text(s, "markdown_formatted")
            : null;

        var invitees = Items(meeting, "calendar_invitees")
            .Select(i => (Email: Text(i, "email")?.Trim().ToLowerInvariant(), Name: Text(i, "name"),
                External: i.TryGetProperty("is_external", out var e) && e.ValueKind == JsonValueKind.True))
            .Where(i => !string.IsNullOrEmpty(i.Email) && i.Email!.Length <= 254)
            .DistinctBy(i => i.Email).ToList();
        var emails = invitees.Select(i => i.Email!).ToList();
        var members = await db.Members.Where(m => m.IsActive && emails.Contains(m.Email.ToLower()))
            .ToDictionaryAsync(m => m.Email.ToLowerInvariant(), cancellationToken);
        var contacts = await db.Contacts.Where(c => c.DeletedAt == null && c.Email != null && emails.Contains(c.Email))
            .ToDictionaryAsync(c => c.Email!, cancellationToken);

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // The organization's own choice (GET/PUT /api/v1/integrations/fathom/settings), else the platform default.
        var createContacts = (await db.FathomSettings.AsNoTracking().FirstOrDefaultAsync(cancellationToken))?.CreateContacts
                             ?? options.Value.Fathom.CreateContacts;
        foreach (var invitee in invitees.Where(i => createContacts && i.External && !contacts.ContainsKey(i.Email!)
                                                    && !members.ContainsKey(i.Email!)))
        {
            var (first, last) = SplitName(invitee.Name, invitee.Email!);
            var contact = Stamp(new Contact { FirstName = first, LastName = last, Email = invitee.Email, Source = "fathom" }, now);
            db.Contacts.Add(contact);
            contacts[invitee.Email!] = contact;
        }

        var matched = contacts.Values.ToList();
        var companyId = matched.Select(c => c.CompanyId).FirstOrDefault(id => id is not null);
        var record = Stamp(new Meeting
        {
            Title = title,
            Summary = summary,
            SummarizedAt = summary is null ? null : now,
            StartsAt = startsAt,
            EndsAt = endsAt,
            Location = Clip(Text(meeting, "share_url") ?? Text(meeting, "url"), 500),
            CompanyId = companyId,
        }, now);
        foreach (var invitee in invitees)
        {
            record.Attendees.Add(Stamp(new MeetingAttendee
            {
                MeetingId = record.Id,
                Email = invitee.Email!,
                Name = Clip(invitee.Name, 200),
                ContactId = contacts.GetValueOrDefault(invitee.Email!)?.Id,
                MemberId = members.GetValueOrDefault(invitee.Email!)?.Id,
            }, now));
        }

        if (Transcript(meeting) is { Length: > 0 } transcript)
        {
            record.Transcripts.Add(Stamp(
                new MeetingTranscript { MeetingId = record.Id, Source = ActivitySource.Integration, Content = transcript }, now));
        }

        db.Meetings.Add(record);
        db.CalendarEvents.Add(Stamp(new CalendarEvent
        {
            Title = title,
            StartsAt = startsAt,
            EndsAt = endsAt,
            MeetingId = record.Id,
            CompanyId = companyId,
            ContactId = matched.FirstOrDefault()?.Id,
            Source = ActivitySource.Integration,
            ExternalId = externalId,
        }, now));

        var contactIds = matched.Select(c => c.Id).ToList();
        var companyIds = matched.Where(c => c.CompanyId != null).Select(c => c.CompanyId!.Value).Distinct().ToList();
        foreach (var contact in matched)
        {
            db.Activities.Add(
                Activity(title, summary, startsAt, $"{externalId}:contact:{contact.Id:N}", now, contact.Id, contact.CompanyId, null));
        }

        var deals = await db.Deals.Where(d => d.DeletedAt == null && d.Status == DealStatus.Open
                && ((d.PrimaryContactId != null && contactIds.Contains(d.PrimaryContactId.Value))
                    || (d.CompanyId != null && companyIds.Contains(d.CompanyId.Value))
                    || db.DealContacts.Any(dc => dc.DealId == d.Id && dc.DeletedAt == null && contactIds.Contains(dc.ContactId))))
            .Select(d => new { d.Id, d.CompanyId }).ToListAsync(cancellationToken);
        foreach (var deal in deals)
        {
            db.Activities.Add(Activity(title, summary, startsAt, $"{externalId}:deal:{deal.Id:N}", now, null, deal.CompanyId, deal.Id));
        }

        if (smartTasks && (matched.Count > 0 || companyId is not null))
        {
            foreach (var item in Items(meeting, "action_items"))
            {
                if (Text(item, "description") is not { Length: > 0 } description)
                {
                    continue;
                }

                var assignee = item.TryGetProperty("assignee", out var a) && a.ValueKind == JsonValueKind.Object
                    ? Text(a, "email")?.Trim().ToLowerInvariant()
                    : null;
                db.Tasks.Add(Stamp(new CrmTask
                {
                    Title = Clip(description, 300)!,
                    Description = Text(item, "recording_playback_url") is { } playback
                        ? $"From \"{title}\": {playback}"
                        : $"From \"{title}\"",
                    Priority = TaskPriority.Normal,
                    Status = CrmTaskStatus.Open,
                    Origin = TaskOrigin.Smart,
                    AssigneeId = assignee is null ? null : members.GetValueOrDefault(assignee)?.Id,
                    ContactId = matched.FirstOrDefault()?.Id,
                    CompanyId = companyId,
                }, now));
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static CrmActivity Activity(string title, string? summary, DateTimeOffset at, string externalId, DateTimeOffset now,
        Guid? contactId, Guid? companyId, Guid? dealId) => Stamp(new CrmActivity
        {
            Type = "meeting",
            Subject = title,
            Body = summary,
            OccurredAt = at,
            Source = ActivitySource.Integration,
            ExternalId = externalId,
            ContactId = contactId,
            CompanyId = companyId,
            DealId = dealId,
        }, now);

    /// <summary>One line per utterance: <c>[HH:MM:SS] speaker: text</c> (the offset into the recording).</summary>
    private static string Transcript(JsonElement meeting)
    {
        var text = new StringBuilder();
        foreach (var line in Items(meeting, "transcript"))
        {
            var speaker = line.TryGetProperty("speaker", out var s) && s.ValueKind == JsonValueKind.Object ? Text(s, "display_name") : null;
            var offset = Text(line, "timestamp") ?? "00:00:00";
            text.Append(CultureInfo.InvariantCulture, $"[{offset}] {speaker ?? "Unknown"}: {Text(line, "text")}\n");
        }

        return text.ToString();
    }

    private static (string? First, string? Last) SplitName(string? name, string email)
    {
        var parts = (name ?? string.Empty).Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length switch
        {
            0 => (Clip(email.Split('@')[0], 100), null),
            1 => (Clip(parts[0], 100), null),
            _ => (Clip(parts[0], 100), Clip(parts[1], 100)),
        };
    }

    private static T Stamp<T>(T entity, DateTimeOffset now)
        where T : Domain.Common.TenantEntity
    {
        entity.CreatedAt = now;
        entity.UpdatedAt = now;
        return entity;
    }
}
