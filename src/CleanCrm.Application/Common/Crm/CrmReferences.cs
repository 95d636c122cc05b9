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

    public static Task<Error?> CheckCompanyAsync(ITenantDbContext db, Guid? companyId, CancellationToken cancellationToken) =>
        CheckCompanyAsync(db, companyId, "companyId", cancellationToken);

    public static async Task<Error?> CheckCompanyAsync(ITenantDbContext db, Guid? companyId, string field, CancellationToken cancellationToken)
    {
        if (companyId is not { } id)
        {
            return null;
        }

        var exists = await db.Companies.AnyAsync(c => c.Id == id && c.DeletedAt == null, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' does not name a live company of this organization.");
    }

    /// <summary>An active member of the organization (assignee, split member, actor), named by <paramref name="field"/> in the error.</summary>
    public static async Task<Error?> CheckMemberAsync(ITenantDbContext db, Guid? memberId, string field, CancellationToken cancellationToken)
    {
        if (memberId is not { } id)
        {
            return null;
        }

        var exists = await db.Members.AnyAsync(m => m.Id == id && m.IsActive, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' is not an active member of this organization.");
    }

    public static async Task<Error?> CheckContactAsync(ITenantDbContext db, Guid? contactId, string field, CancellationToken cancellationToken)
    {
        if (contactId is not { } id)
        {
            return null;
        }

        var exists = await db.Contacts.AnyAsync(c => c.Id == id && c.DeletedAt == null, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' does not name a live contact of this organization.");
    }

    public static async Task<Error?> CheckDealAsync(ITenantDbContext db, Guid? dealId, string field, CancellationToken cancellationToken)
    {
        if (dealId is not { } id)
        {
            return null;
        }

        var exists = await db.Deals.AnyAsync(d => d.Id == id && d.DeletedAt == null, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' does not name a live deal of this organization.");
    }

    public static async Task<Error?> CheckMeetingAsync(ITenantDbContext db, Guid? meetingId, string field, CancellationToken cancellationToken)
    {
        if (meetingId is not { } id)
        {
            return null;
        }

        var exists = await db.Meetings.AnyAsync(m => m.Id == id && m.DeletedAt == null, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' does not name a live meeting of this organization.");
    }

    /// <summary>The company, contact and deal a note, task or activity is attached to; each must be live in this organization.</summary>
    public static async Task<Error?> CheckTargetsAsync(ITenantDbContext db, Guid? companyId, Guid? contactId, Guid? dealId, CancellationToken cancellationToken) =>
        await CheckCompanyAsync(db, companyId, "companyId", cancellationToken)
        ?? await CheckContactAsync(db, contactId, "contactId", cancellationToken)
        ?? await CheckDealAsync(db, dealId, "dealId", cancellationToken);

    /// <summary>Last line of defence when a referenced row vanished between the check and the save: still a 400, never a 500.</summary>
    public static Error FromForeignKey(string constraintName)
    {
        // EF names foreign keys fk_<table>_<principal>_<column>; the column is the tail after the principal table.
        var column = constraintName.Split('_', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 2 } parts && parts[^1] == "id"
            ? parts[^2] + "Id"
            : "body";
        return Reference(column, $"{column} does not name a live record of this organization.");
    }

    public static Error InvalidReference(string field, string message) => Reference(field, message);

    private static Error Reference(string field, string message) =>
        new(ErrorType.Validation, ErrorCodes.InvalidReference, message) { Errors = new Dictionary<string, string[]> { [field] = [message] } };
}
