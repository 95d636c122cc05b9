using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Common;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Crm;

/// <summary>Checks ids a client sends for other records, so a bad reference is a clear 400, never a foreign-key 500.</summary>
public static class CrmReferences
{
    public static Task<Error?> CheckOwnerAsync(ITenantDbContext db, Guid? ownerId, CancellationToken cancellationToken) =>
        CheckMemberAsync(db, ownerId, "ownerId", cancellationToken);

    /// <summary>An active member of the organization (owner, assignee, split member, actor), named by <paramref name="field"/>.</summary>
    public static async Task<Error?> CheckMemberAsync(
        ITenantDbContext db, Guid? memberId, string field, CancellationToken cancellationToken)
    {
        if (memberId is not { } id)
        {
            return null;
        }

        var exists = await db.Members.AnyAsync(m => m.Id == id && m.IsActive, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' is not an active member of this organization.");
    }

    public static Task<Error?> CheckCompanyAsync(ITenantDbContext db, Guid? companyId, string field, CancellationToken cancellationToken) =>
        CheckLiveAsync(db.Companies, companyId, field, "company", cancellationToken);

    public static Task<Error?> CheckContactAsync(ITenantDbContext db, Guid? contactId, string field, CancellationToken cancellationToken) =>
        CheckLiveAsync(db.Contacts, contactId, field, "contact", cancellationToken);

    public static Task<Error?> CheckDealAsync(ITenantDbContext db, Guid? dealId, string field, CancellationToken cancellationToken) =>
        CheckLiveAsync(db.Deals, dealId, field, "deal", cancellationToken);

    public static Task<Error?> CheckMeetingAsync(ITenantDbContext db, Guid? meetingId, string field, CancellationToken cancellationToken) =>
        CheckLiveAsync(db.Meetings, meetingId, field, "meeting", cancellationToken);

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

    private static async Task<Error?> CheckLiveAsync<T>(
        IQueryable<T> rows, Guid? recordId, string field, string noun, CancellationToken cancellationToken)
        where T : TenantEntity
    {
        if (recordId is not { } id)
        {
            return null;
        }

        var exists = await rows.AnyAsync(r => r.Id == id && r.DeletedAt == null, cancellationToken);
        return exists ? null : Reference(field, $"{field} '{id}' does not name a live {noun} of this organization.");
    }

    private static Error Reference(string field, string message) =>
        new(ErrorType.Validation, ErrorCodes.InvalidReference, message)
        {
            Errors = new Dictionary<string, string[]> { [field] = [message] },
        };
}
