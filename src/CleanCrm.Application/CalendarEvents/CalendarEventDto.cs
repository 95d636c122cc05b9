using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.CalendarEvents;

public sealed record CalendarEventDto(
    Guid Id,
    string Title,
    string? Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    bool AllDay,
    string? Location,
    Guid? OwnerId,
    Guid? MeetingId,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    ActivitySource Source,
    string? ExternalId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static CalendarEventDto From(CalendarEvent e) =>
        new(e.Id, e.Title, e.Description, e.StartsAt, e.EndsAt, e.AllDay, e.Location, e.OwnerId, e.MeetingId,
            e.CompanyId, e.ContactId, e.DealId, e.Source, e.ExternalId, e.CreatedAt, e.UpdatedAt)
        {
            Version = e.Version,
        };
}
