using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Notes;

public sealed record NoteDto(
    Guid Id,
    string Body,
    bool Pinned,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static NoteDto From(Note n) =>
        new(n.Id, n.Body, n.Pinned, n.CompanyId, n.ContactId, n.DealId, n.CreatedAt, n.UpdatedAt) { Version = n.Version };
}
