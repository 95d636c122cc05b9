using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

/// <summary>An organization as the provisioning console sees it.</summary>
public sealed record AdminOrganizationDto(
    Guid Id, string Slug, string Name, string Status, string Plan, string? DatabaseName, string? SchemaVersion)
{
    internal static AdminOrganizationDto From(Organization o) => new(
        o.Id,
        o.Slug,
        o.Name,
        o.Status.ToString().ToLowerInvariant(),
        o.PlanKey,
        string.IsNullOrEmpty(o.DatabaseName) ? null : o.DatabaseName,
        o.SchemaVersion);
}
