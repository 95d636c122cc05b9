using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.CalendarEvents;

/// <summary>How calendar events are written and read by the shared record handlers; (source, externalId) is unique.</summary>
internal static class CalendarEventRecord
{
    public static readonly CrmRecordType<CalendarEvent, CalendarEventFields, CalendarEventDto> Type = new()
    {
        Resource = "Calendar event",
        Rows = db => db.CalendarEvents,
        New = fields => new CalendarEvent { Title = fields.Title! },
        Read = CalendarEventFields.From,
        Validator = new CalendarEventFieldsValidator(),
        Check = async (db, f, c, ct) =>
            (f.OwnerId != c?.OwnerId ? await CrmReferences.CheckOwnerAsync(db, f.OwnerId, ct) : null)
            ?? (f.MeetingId != c?.MeetingId ? await CrmReferences.CheckMeetingAsync(db, f.MeetingId, "meetingId", ct) : null)
            ?? (f.CompanyId != c?.CompanyId ? await CrmReferences.CheckCompanyAsync(db, f.CompanyId, "companyId", ct) : null)
            ?? (f.ContactId != c?.ContactId ? await CrmReferences.CheckContactAsync(db, f.ContactId, "contactId", ct) : null)
            ?? (f.DealId != c?.DealId ? await CrmReferences.CheckDealAsync(db, f.DealId, "dealId", ct) : null),
        Apply = (fields, calendarEvent, _) => fields.ApplyTo(calendarEvent),
        ToDto = CalendarEventDto.From,
        Unique = new("ux_calendar_events_external_live", ExternalIdTaken),
    };

    private static Error ExternalIdTaken(CalendarEventFields fields) => CrmRecords.Duplicate(
        "externalId",
        $"A calendar event from source '{fields.Source}' with externalId '{fields.ExternalId}' already exists.",
        "is already used by another calendar event of this source.");
}
