using System.Globalization;
using System.Text.Json;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using static CleanCrm.Infrastructure.Integrations.Webhooks.JsonFields;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// SavvyCal bookings → calendar events (external id <c>savvycal:{event id}</c>) linked to the booker's contact (created when
/// new) with a "meeting booked" activity. A reschedule moves the event, a cancellation deletes it and logs the
/// cancellation. Deliveries may arrive in any order: a reschedule before its creation creates the event, and a cancelled
/// event is never brought back by a late creation or reschedule.
/// </summary>
public sealed class SavvyCalWebhookHandler(ITenantScopeFactory scopes, TenantDbContextFactory contexts, TimeProvider clock)
    : IWebhookHandler
{
    public string Provider => IntegrationProviders.SavvyCal;

    public async Task HandleAsync(IntegrationConnection connection, string type, string payload, CancellationToken cancellationToken)
    {
        if (type is not ("event.created" or "event.rescheduled" or "event.canceled"))
        {
            return;
        }

        using var document = JsonDocument.Parse(payload);
        if (!document.RootElement.TryGetProperty("payload", out var booking) || booking.ValueKind != JsonValueKind.Object
            || Text(booking, "id") is not { Length: > 0 } bookingId)
        {
            return;
        }

        var externalId = $"savvycal:{bookingId}";
        var now = clock.GetUtcNow();
        await using var scope = await scopes.BeginAsync(connection.OrganizationId, cancellationToken);
        await using var db = contexts.CreateForCurrentScope();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Deleted rows count: a cancellation that arrived first must win over a late creation.
        var existing = await db.CalendarEvents.FirstOrDefaultAsync(
            e => e.Source == ActivitySource.Integration && e.ExternalId == externalId, cancellationToken);
        if (existing?.DeletedAt is not null)
        {
            return;
        }

        var title = Clip(Text(booking, "summary") ?? "Meeting", 300)!;
        var startsAt = Time(booking, "start_at") ?? now;
        var endsAt = Time(booking, "end_at") is { } end && end >= startsAt ? end : startsAt;
        var contact = await BookerAsync(db, booking, now, cancellationToken);
        if (existing is null)
        {
            existing = new CalendarEvent
            {
                Title = title,
                Source = ActivitySource.Integration,
                ExternalId = externalId,
                CreatedAt = now,
            };
            db.CalendarEvents.Add(existing);
        }

        // A creation never overrides a reschedule that was processed before it.
        if (existing.StartsAt == default || type != "event.created")
        {
            existing.Title = title;
            existing.StartsAt = startsAt;
            existing.EndsAt = endsAt;
        }

        existing.ContactId ??= contact?.Id;
        existing.CompanyId ??= contact?.CompanyId;
        existing.UpdatedAt = now;
        if (type == "event.canceled")
        {
            existing.DeletedAt = now;
        }

        if (contact is not null)
        {
            var (suffix, subject) = type switch
            {
                "event.created" => ("booked", $"Meeting booked: {title}"),
                "event.rescheduled" => ($"rescheduled:{startsAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}",
                    $"Meeting rescheduled: {title}"),
                _ => ("canceled", $"Meeting canceled: {title}"),
            };
            var activityId = $"{externalId}:{suffix}";
            if (!await db.Activities.AnyAsync(a => a.Source == ActivitySource.Integration && a.ExternalId == activityId, cancellationToken))
            {
                db.Activities.Add(new CrmActivity
                {
                    Type = "meeting",
                    Subject = Clip(subject, 300),
                    OccurredAt = startsAt,
                    ContactId = contact.Id,
                    CompanyId = contact.CompanyId,
                    Source = ActivitySource.Integration,
                    ExternalId = activityId,
                    CreatedAt = now,
                    UpdatedAt = now,
                });
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<Contact?> BookerAsync(Persistence.Tenant.TenantDbContext db, JsonElement booking, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var attendees = booking.TryGetProperty("attendees", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToList()
            : [];
        var booker = attendees.FirstOrDefault(a => !(a.TryGetProperty("is_organizer", out var o) && o.ValueKind == JsonValueKind.True));
        if (booker.ValueKind != JsonValueKind.Object
            || Text(booker, "email")?.Trim().ToLowerInvariant() is not { Length: > 0 and <= 254 } email)
        {
            return null;
        }

        var contact = await db.Contacts.FirstOrDefaultAsync(c => c.Email == email && c.DeletedAt == null, cancellationToken);
        if (contact is null)
        {
            var name = (Text(booker, "display_name") ?? Text(booker, "first_name") ?? email.Split('@')[0]).Trim().Split(' ', 2);
            contact = new Contact
            {
                FirstName = Clip(name[0], 100),
                LastName = name.Length > 1 ? Clip(name[1], 100) : null,
                Email = email,
                Source = "savvycal",
                CreatedAt = now,
                UpdatedAt = now,
            };
            db.Contacts.Add(contact);
        }

        return contact;
    }
}
