using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Tasks;

public sealed record TaskDto(
    Guid Id,
    string Title,
    string? Description,
    DateTimeOffset? DueAt,
    TaskPriority Priority,
    CrmTaskStatus Status,
    Guid? AssigneeId,
    DateTimeOffset? CompletedAt,
    TaskOrigin Origin,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static TaskDto From(CrmTask t) =>
        new(t.Id, t.Title, t.Description, t.DueAt, t.Priority, t.Status, t.AssigneeId, t.CompletedAt, t.Origin,
            t.CompanyId, t.ContactId, t.DealId, t.CreatedAt, t.UpdatedAt)
        {
            Version = t.Version,
        };
}
