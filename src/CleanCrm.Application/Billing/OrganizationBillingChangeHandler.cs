using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Organizations;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.Billing;

/// <summary>A platform-admin change to one organization's plan or overrides.</summary>
public interface IOrganizationBillingChange : ICommand<Result<OrganizationBillingDto>>
{
    Guid OrganizationId { get; }
}

/// <summary>
/// What the platform-admin billing commands share: a deleted or unknown organization is a 404, the change is saved, and the
/// answer is the organization's billing as it is now. Each command only says what it changes.
/// </summary>
public abstract class OrganizationBillingChangeHandler<TCommand>(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : ICommandHandler<TCommand, Result<OrganizationBillingDto>>
    where TCommand : IOrganizationBillingChange
{
    public async ValueTask<Result<OrganizationBillingDto>> Handle(TCommand command, CancellationToken cancellationToken)
    {
        if (await OrganizationLookup.FindUndeletedAsync(db, command.OrganizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        await ChangeAsync(organization, command, clock.GetUtcNow(), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);

        // This process reads its own write at once; other instances drop their copy on the catalog's NOTIFY.
        profiles.Invalidate(organization.Id);
        var profile = await profiles.GetAsync(organization.Id, cancellationToken);
        return profile is null
            ? Error.NotFound("Organization", organization.Id)
            : new OrganizationBillingDto(
                organization.Id, profile.PlanKey, profile.Limits, profile.AllFeatures(clock.GetUtcNow()), profile.FeatureOverrides);
    }

    protected ICatalogDbContext Db => db;

    /// <summary>Applies the change to the unit of work (<see cref="Db"/>); the base class saves it.</summary>
    protected abstract Task ChangeAsync(
        Organization organization, TCommand command, DateTimeOffset now, CancellationToken cancellationToken);
}
