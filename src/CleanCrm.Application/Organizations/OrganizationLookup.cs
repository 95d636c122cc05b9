using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations;

/// <summary>How platform-admin use cases (organizations, backups, billing) find the organization they act on.</summary>
internal static class OrganizationLookup
{
    /// <summary>The organization in any status, tracked; null when the id names none.</summary>
    public static Task<Organization?> FindAsync(ICatalogDbContext db, Guid organizationId, CancellationToken cancellationToken) =>
        db.Organizations.FirstOrDefaultAsync(o => o.Id == organizationId, cancellationToken);

    /// <summary>The organization unless it is deleted (then it is gone for the caller), tracked; null otherwise.</summary>
    public static Task<Organization?> FindUndeletedAsync(ICatalogDbContext db, Guid organizationId, CancellationToken cancellationToken) =>
        db.Organizations.FirstOrDefaultAsync(o => o.Id == organizationId && o.Status != OrganizationStatus.Deleted, cancellationToken);
}
