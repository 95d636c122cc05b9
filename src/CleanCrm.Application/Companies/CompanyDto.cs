using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Companies;

/// <summary>A company as the API returns it (docs/API.md).</summary>
public sealed record CompanyDto(
    Guid Id,
    string Name,
    string? Domain,
    string? Industry,
    int? EmployeeCount,
    long? AnnualRevenue,
    string? Currency,
    string? Address,
    Guid? OwnerId,
    Dictionary<string, JsonElement> CustomFields,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Row version, sent as the ETag header rather than in the body.</summary>
    [JsonIgnore]
    public uint Version { get; init; }

    public static CompanyDto From(Company company) => new(
        company.Id,
        company.Name,
        company.Domain,
        company.Industry,
        company.EmployeeCount,
        company.AnnualRevenue,
        company.Currency,
        company.Address,
        company.OwnerId,
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(company.CustomFields) ?? [],
        company.CreatedAt,
        company.UpdatedAt)
    {
        Version = company.Version,
    };
}
