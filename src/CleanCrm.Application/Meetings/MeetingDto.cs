using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Meetings;

public sealed record MeetingAttendeeDto(string Email, string? Name, Guid? ContactId, Guid? MemberId);

public sealed record MeetingDto(
    Guid Id,
    string Title,
    string? Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    string? Location,
    Guid? CompanyId,
    Guid? DealId,
    IReadOnlyList<MeetingAttendeeDto> Attendees,
    string? Transcript,
    string? Summary,
    DateTimeOffset? SummarizedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static MeetingDto From(Meeting m) => new(
        m.Id,
        m.Title,
        m.Description,
        m.StartsAt,
        m.EndsAt,
        m.Location,
        m.CompanyId,
        m.DealId,
        [
            .. m.Attendees.Where(a => a.DeletedAt == null)
                .OrderBy(a => a.Email, StringComparer.Ordinal)
                .Select(a => new MeetingAttendeeDto(a.Email, a.Name, a.ContactId, a.MemberId)),
        ],
        m.Transcripts.Where(t => t.DeletedAt == null).OrderBy(t => t.Source).Select(t => t.Content).FirstOrDefault(),
        m.Summary,
        m.SummarizedAt,
        m.CreatedAt,
        m.UpdatedAt)
    {
        Version = m.Version,
    };
}
