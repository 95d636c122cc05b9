using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

/// <summary>How signup and "create another organization" add an organization and hand it to provisioning.</summary>
internal static class OrganizationFactory
{
    /// <summary>Adds the organization, the owner membership and a pending provisioning run to the unit of work.</summary>
    public static ProvisioningRun Add(
        ICatalogDbContext db, Guid ownerId, string name, string slug, string plan, DateTimeOffset now, out Organization organization)
    {
        // A paid plan starts on free limits; the Stripe webhook switches it once the subscription is active.
        organization = new Organization { Slug = slug, Name = name.Trim(), PlanKey = Plan.Free, CreatedAt = now, UpdatedAt = now };
        db.Organizations.Add(organization);

        // The new org on the request's span: the provisioning job it queues carries it on (docs/OBSERVABILITY.md "Traces").
        System.Diagnostics.Activity.Current?.SetTag("cleancrm.org_id", organization.Id);
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

    /// <summary>
    /// Commits the unit of work in one catalog transaction and queues the run. The run row is the outbox: if queuing fails after
    /// the commit, the worker's sweeper still finds it. A unique violation (a concurrent twin won) becomes <paramref name="taken"/>.
    /// </summary>
    public static async Task<Result<OrganizationAccepted>> CommitAndQueueAsync(
        ICatalogDbContext db,
        IProvisioningQueue queue,
        ProvisioningRun run,
        Organization organization,
        Func<ConstraintViolationException, Error> taken,
        CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConstraintViolationException exception) when (exception.Kind == ConstraintKind.Unique)
        {
            return taken(exception);
        }

        await queue.EnqueueAsync(run.Id, cancellationToken);
        return new OrganizationAccepted(organization.Id, organization.Slug, "pending");
    }
}
