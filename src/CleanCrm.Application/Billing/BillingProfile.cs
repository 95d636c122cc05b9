using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Billing;

/// <summary>Effective limits of an organization. A null seat or token limit means unlimited.</summary>
public sealed record EntitlementLimits(int? Seats, long? AiTokensPerMonth, int ApiRequestsPer10Seconds, int BackupRetentionDays);

/// <summary>A feature decision by a platform admin, as cached with the profile; expiry is evaluated at read time.</summary>
public sealed record FeatureOverrideInfo(string FeatureKey, bool Enabled, DateTimeOffset? ExpiresAt);

/// <summary>
/// Everything that decides an organization's features and limits: its plan (as the catalog seeds it) and the admin
/// overrides. Cheap to evaluate, so it is cached per org and re-read when the catalog announces a change.
/// </summary>
public sealed record BillingProfile(
    Guid OrganizationId,
    string PlanKey,
    EntitlementLimits PlanLimits,
    IReadOnlyDictionary<string, bool> PlanFeatures,
    IReadOnlyList<FeatureOverrideInfo> FeatureOverrides,
    LimitOverride? LimitOverride)
{
    /// <summary>Admin override (unless expired) → plan → off.</summary>
    public bool IsFeatureEnabled(string featureKey, DateTimeOffset now)
    {
        foreach (var item in FeatureOverrides)
        {
            if (string.Equals(item.FeatureKey, featureKey, StringComparison.Ordinal) && (item.ExpiresAt is null || item.ExpiresAt > now))
            {
                return item.Enabled;
            }
        }

        return PlanFeatures.TryGetValue(featureKey, out var enabled) && enabled;
    }

    public IReadOnlyDictionary<string, bool> AllFeatures(DateTimeOffset now) =>
        PremiumFeatures.All.ToDictionary(key => key, key => IsFeatureEnabled(key, now), StringComparer.Ordinal);

    public EntitlementLimits Limits => LimitOverride is not { } o
        ? PlanLimits
        : new EntitlementLimits(
            o.Seats ?? PlanLimits.Seats,
            o.AiTokensPerMonth ?? PlanLimits.AiTokensPerMonth,
            o.ApiRequestsPer10Seconds ?? PlanLimits.ApiRequestsPer10Seconds,
            o.BackupRetentionDays ?? PlanLimits.BackupRetentionDays);
}

/// <summary>Reads (and caches) billing profiles; a change in the catalog reaches every instance through LISTEN/NOTIFY.</summary>
public interface IBillingProfiles
{
    /// <summary>The organization's profile, or null when the organization does not exist.</summary>
    ValueTask<BillingProfile?> GetAsync(Guid organizationId, CancellationToken cancellationToken = default);

    /// <summary>Drops this process's cached profile (after a write it has just made).</summary>
    void Invalidate(Guid organizationId);
}
