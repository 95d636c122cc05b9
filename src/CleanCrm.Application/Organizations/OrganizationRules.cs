using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

/// <summary>The plans a customer can choose at signup.</summary>
public static class OrganizationRules
{
    public static readonly string[] Plans = [Plan.Free, Plan.Pro, Plan.Enterprise];
}

/// <summary>The answer to a signup or org creation (SPEC §6.2).</summary>
public sealed record OrganizationAccepted(Guid OrganizationId, string Slug, string Status);
