using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Common.Features;

/// <summary>
/// Premium feature checks for the Application layer. Implemented in Infrastructure over Microsoft.FeatureManagement, so
/// handlers, jobs and <c>[FeatureGate]</c> all see the same answer: admin override (until it expires) → plan → off.
/// </summary>
public interface IFeatures
{
    Task<bool> IsEnabledAsync(Guid organizationId, string featureKey, CancellationToken cancellationToken = default);

    /// <summary>Every key of <see cref="PremiumFeatures.All"/> with its effective value.</summary>
    Task<IReadOnlyDictionary<string, bool>> GetAllAsync(Guid organizationId, CancellationToken cancellationToken = default);
}

/// <summary>Declares the premium feature a request needs; the feature behavior refuses it with 403 <c>feature_disabled</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresFeatureAttribute(string featureKey) : Attribute
{
    public string FeatureKey { get; } = PremiumFeatures.All.Contains(featureKey)
        ? featureKey
        : throw new ArgumentException($"'{featureKey}' is not a premium feature key.", nameof(featureKey));
}
