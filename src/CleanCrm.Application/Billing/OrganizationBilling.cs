using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing;

/// <summary>What the platform-admin billing commands share: the organization check and the answer after a change.</summary>
internal static class OrganizationBilling
{
    public static async Task<Result<OrganizationBillingDto>> DescribeAsync(
        IBillingProfiles profiles, Guid organizationId, TimeProvider clock, CancellationToken cancellationToken)
    {
        // This process reads its own write at once; other instances drop their copy on the catalog's NOTIFY.
        profiles.Invalidate(organizationId);
        var profile = await profiles.GetAsync(organizationId, cancellationToken);
        return profile is null
            ? Error.NotFound("Organization", organizationId)
            : new OrganizationBillingDto(
                organizationId, profile.PlanKey, profile.Limits, profile.AllFeatures(clock.GetUtcNow()), profile.FeatureOverrides);
    }

    public static Task<bool> ExistsAsync(ICatalogDbContext db, Guid organizationId, CancellationToken cancellationToken) =>
        db.Organizations.AnyAsync(o => o.Id == organizationId && o.Status != OrganizationStatus.Deleted, cancellationToken);
}
