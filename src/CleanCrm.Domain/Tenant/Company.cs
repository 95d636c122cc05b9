using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public sealed class Company : TenantEntity
{
    public required string Name { get; set; }

    /// <summary>Lower-case host name; unique among live companies.</summary>
    public string? Domain { get; set; }

    public string? Industry { get; set; }

    public int? EmployeeCount { get; set; }

    /// <summary>Minor units of <see cref="Currency"/>.</summary>
    public long? AnnualRevenue { get; set; }

    public string? Currency { get; set; }

    public string? Address { get; set; }

    public Guid? OwnerId { get; set; }

    /// <summary>A JSON object (jsonb) of customer-defined fields.</summary>
    public string CustomFields { get; set; } = "{}";
}
