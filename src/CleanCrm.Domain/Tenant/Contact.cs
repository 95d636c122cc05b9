using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public sealed class Contact : TenantEntity
{
    public string? FirstName { get; set; }

    public string? LastName { get; set; }

    /// <summary>Unique among live contacts, compared case-insensitively.</summary>
    public string? Email { get; set; }

    public string? Phone { get; set; }

    public string? JobTitle { get; set; }

    public Guid? CompanyId { get; set; }

    public Company? Company { get; set; }

    public string? Source { get; set; }

    public Guid? OwnerId { get; set; }

    /// <summary>A JSON object (jsonb) of customer-defined fields.</summary>
    public string CustomFields { get; set; } = "{}";
}
