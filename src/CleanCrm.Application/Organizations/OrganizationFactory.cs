using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

internal static class OrganizationFactory
{
    /// <summary>Adds the organization, the owner membership and a pending provisioning run to the unit of work.</summary>
    public static ProvisioningRun Add(
        ICatalogDbContext db, Guid ownerId, string name, string slug, string plan, DateTimeOffset now, out Organization organization)
    {
        // A paid plan starts on free limits; the Stripe webhook switches it once the subscription is active.
        organization = new Organization { Slug = slug, Name = name.Trim(), PlanKey = Plan.Free, CreatedAt = now, UpdatedAt = now };
        db.Organizations.Add(organization);
        if (plan != Plan.Free)
        {
            db.Subscriptions.Add(new BillingSubscription { OrganizationId = organization.Id, RequestedPlanKey = plan, UpdatedAt = now });
        }

        db.Memberships.Add(new Membership
        {
            OrganizationId = organization.Id,
            UserId = ownerId,
            Role = OrgRole.Owner,
            CreatedAt = now,
            UpdatedAt = now,
        });
        var run = ProvisioningRun.For(organization.Id, now);
        db.ProvisioningRuns.Add(run);
        return run;
    }
}
