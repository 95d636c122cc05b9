using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

/// <summary>Suspend and resume: a move between active and suspended that answers the same when repeated.</summary>
internal static class OrganizationSuspension
{
    public static async Task<Result<AdminOrganizationDto>> MoveAsync(
        ICatalogDbContext db,
        Guid organizationId,
        OrganizationStatus from,
        OrganizationStatus to,
        string action,
        Action<Organization> apply,
        CancellationToken cancellationToken)
    {
        if (await OrganizationLookup.FindAsync(db, organizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", organizationId);
        }

        if (organization.Status == to)
        {
            return AdminOrganizationDto.From(organization);
        }

        if (organization.Status != from)
        {
            return OrganizationErrors.CannotBe(organization, action);
        }

        apply(organization);
        await db.SaveChangesAsync(cancellationToken);
        return AdminOrganizationDto.From(organization);
    }
}
