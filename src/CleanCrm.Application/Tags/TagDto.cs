using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Tags;

public sealed record TagDto(Guid Id, string Name, string? Color, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static TagDto From(Tag t) => new(t.Id, t.Name, t.Color, t.CreatedAt, t.UpdatedAt) { Version = t.Version };
}
