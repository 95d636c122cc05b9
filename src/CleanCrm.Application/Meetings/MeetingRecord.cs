using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Meetings;

/// <summary>How meetings are written and read by the shared record handlers; reads and patches load the children.</summary>
internal static class MeetingRecord
{
    public static readonly CrmRecordType<Meeting, MeetingFields, MeetingDto> Type = new()
    {
        Resource = "Meeting",
        Rows = db => db.Meetings,
        WithDetails = db => db.Meetings
            .Include(m => m.Attendees.Where(a => a.DeletedAt == null))
            .Include(m => m.Transcripts.Where(t => t.DeletedAt == null)),
        New = fields => new Meeting { Title = fields.Title! },
        Read = MeetingFields.From,
        Validator = new MeetingFieldsValidator(),
        Check = CheckAsync,
        Apply = (fields, meeting, stamp) => fields.ApplyTo(meeting, stamp),
        ToDto = MeetingDto.From,
    };

    private static async Task<Error?> CheckAsync(ITenantDbContext db, MeetingFields fields, Meeting? current, CancellationToken ct)
    {
        var error = (fields.CompanyId != current?.CompanyId
                        ? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, "companyId", ct)
                        : null)
                    ?? (fields.DealId != current?.DealId ? await CrmReferences.CheckDealAsync(db, fields.DealId, "dealId", ct) : null);
        foreach (var (attendee, i) in (fields.Attendees ?? []).Select((a, i) => (a, i)))
        {
            error ??= await CrmReferences.CheckContactAsync(db, attendee.ContactId, $"attendees[{i}].contactId", ct)
                      ?? await CrmReferences.CheckMemberAsync(db, attendee.MemberId, $"attendees[{i}].memberId", ct);
        }

        return error;
    }
}
