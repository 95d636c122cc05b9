using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Contacts;

/// <summary>A contact as the API returns it (docs/API.md).</summary>
public sealed record ContactDto(
    Guid Id,
    string? FirstName,
    string? LastName,
    string? Email,
    string? Phone,
    string? JobTitle,
    Guid? CompanyId,
    string? Source,
    Guid? OwnerId,
    Dictionary<string, JsonElement> CustomFields,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static ContactDto From(Contact contact) => new(
        contact.Id,
        contact.FirstName,
        contact.LastName,
        contact.Email,
        contact.Phone,
        contact.JobTitle,
        contact.CompanyId,
        contact.Source,
        contact.OwnerId,
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(contact.CustomFields) ?? [],
        contact.CreatedAt,
        contact.UpdatedAt)
    {
        Version = contact.Version,
    };
}
