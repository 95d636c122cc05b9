namespace CleanCrm.Application.Organizations;

/// <summary>The answer to a signup or org creation: the organization is queued for provisioning.</summary>
public sealed record OrganizationAccepted(Guid OrganizationId, string Slug, string Status);
