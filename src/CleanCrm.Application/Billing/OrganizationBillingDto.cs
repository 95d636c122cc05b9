namespace CleanCrm.Application.Billing;

/// <summary>An organization's plan, overrides and effective features/limits, as platform admins see them.</summary>
public sealed record OrganizationBillingDto(
    Guid Id,
    string Plan,
    EntitlementLimits Limits,
    IReadOnlyDictionary<string, bool> Features,
    IReadOnlyList<FeatureOverrideInfo> FeatureOverrides);
