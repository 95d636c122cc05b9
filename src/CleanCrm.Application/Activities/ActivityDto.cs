using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Activities;

public sealed record ActivityDto(
    Guid Id,
    string Type,
    string? Subject,
    string? Body,
    DateTimeOffset OccurredAt,
    Guid? ActorId,
    ActivitySource Source,
    string? ExternalId,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static ActivityDto From(CrmActivity a) =>
        new(a.Id, a.Type, a.Subject, a.Body, a.OccurredAt, a.ActorId, a.Source, a.ExternalId, a.CompanyId, a.ContactId, a.DealId,
            a.CreatedAt, a.UpdatedAt)
        {
            Version = a.Version,
        };
}
