using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Microsoft.Extensions.Configuration;
using Microsoft.FeatureManagement;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>The organization a feature is evaluated for, when it is not the tenant in scope (jobs, admin views).</summary>
public sealed record OrganizationFeatureContext(Guid OrganizationId);

/// <summary>
/// Declares the eight premium features (docs/BILLING.md) to Microsoft.FeatureManagement in code: each is conditional on the
/// <see cref="PlanFeatureFilter"/>, so <c>IFeatureManager</c> and <c>[FeatureGate]</c> answer per organization.
/// </summary>
public sealed class PremiumFeatureDefinitionProvider : IFeatureDefinitionProvider
{
    private static readonly IConfiguration NoParameters = new ConfigurationBuilder().Build();

    private static readonly Dictionary<string, FeatureDefinition> Definitions = PremiumFeatures.All.ToDictionary(
        key => key,
        key => new FeatureDefinition
        {
            Name = key,
            EnabledFor = [new FeatureFilterConfiguration { Name = PlanFeatureFilter.Alias, Parameters = NoParameters }],
        },
        StringComparer.Ordinal);

    public Task<FeatureDefinition> GetFeatureDefinitionAsync(string featureName) =>
        Task.FromResult(Definitions.TryGetValue(featureName, out var definition) ? definition : null!);

    public async IAsyncEnumerable<FeatureDefinition> GetAllFeatureDefinitionsAsync()
    {
        foreach (var definition in Definitions.Values)
        {
            yield return definition;
        }

        await Task.CompletedTask;
    }
}

/// <summary>Admin override (unless expired) → plan → off, for the tenant in scope (requests, tenant-scoped jobs).</summary>
[FilterAlias(Alias)]
public sealed class PlanFeatureFilter(IBillingProfiles profiles, ITenantContext tenantContext, TimeProvider clock) : IFeatureFilter
{
    public const string Alias = "CleanCrm.Plan";

    public async Task<bool> EvaluateAsync(FeatureFilterEvaluationContext context) =>
        tenantContext.Current is { } tenant && await profiles.GetAsync(tenant.OrganizationId) is { } profile
            && profile.IsFeatureEnabled(context.FeatureName, clock.GetUtcNow());
}

/// <summary>
/// The same decision for an organization named explicitly (<c>IsEnabledAsync(key, new OrganizationFeatureContext(id))</c>).
/// Microsoft.FeatureManagement allows one filter interface per class, so the contextual form is a sibling with the same alias.
/// </summary>
[FilterAlias(PlanFeatureFilter.Alias)]
public sealed class OrganizationPlanFeatureFilter(IBillingProfiles profiles,
    TimeProvider clock) : IContextualFeatureFilter<OrganizationFeatureContext>
{
    public async Task<bool> EvaluateAsync(FeatureFilterEvaluationContext featureFilterContext, OrganizationFeatureContext appContext) =>
        await profiles.GetAsync(appContext.OrganizationId) is { } profile
            && profile.IsFeatureEnabled(featureFilterContext.FeatureName, clock.GetUtcNow());
}

/// <summary>The Application's feature abstraction, answered by Microsoft.FeatureManagement.</summary>
public sealed class FeatureManagementFeatures(IFeatureManager features) : IFeatures
{
    public Task<bool> IsEnabledAsync(Guid organizationId, string featureKey, CancellationToken cancellationToken = default) =>
        features.IsEnabledAsync(featureKey, new OrganizationFeatureContext(organizationId));

    public async Task<IReadOnlyDictionary<string, bool>> GetAllAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        var context = new OrganizationFeatureContext(organizationId);
        var map = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var key in PremiumFeatures.All)
        {
            map[key] = await features.IsEnabledAsync(key, context);
        }

        return map;
    }
}
