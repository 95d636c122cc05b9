using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Crm;

/// <summary>Checks ids a client sends for other records, so a bad reference is a clear 400, never a foreign-key 500.</summary>
public static class CrmReferences
{
    public static async Task<Error?> CheckOwnerAsync(ITenantDbContext db, Guid? ownerId, CancellationToken cancellationToken)
    {
        if (ownerId is not { } id)
        {
            return null;
        }

        var exists = await db.Members.AnyAsync(m => m.Id == id && m.IsActive, cancellationToken);
        return exists ? null : Reference("ownerId", $"ownerId '{id}' is not an active member of this organization.");
    }

    public static async Task<Error?> CheckCompanyAsync(ITenantDbContext db, Guid? companyId, CancellationToken cancellationToken)
    {
        if (companyId is not { } id)
        {
            return null;
        }

        var exists = await db.Companies.AnyAsync(c => c.Id == id && c.DeletedAt == null, cancellationToken);
        return exists ? null : Reference("companyId", $"companyId '{id}' does not name a company of this organization.");
    }

    private static Error Reference(string field, string message) =>
        new(ErrorType.Validation, ErrorCodes.InvalidReference, message) { Errors = new Dictionary<string, string[]> { [field] = [message] } };
}
