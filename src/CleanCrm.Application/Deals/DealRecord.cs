using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Deals;

/// <summary>
/// Deals are found, saved and soft-deleted through the shared record steps; create and update stay their own handlers
/// because placing a deal in a stage (history, status, probability) is part of the write.
/// </summary>
internal static class DealRecord
{
    public static readonly CrmTable<Deal> Table = new() { Resource = "Deal", Rows = db => db.Deals };

    public static readonly DealFieldsValidator Validator = new();

    /// <summary>Checks the references that changed (all of them on create).</summary>
    public static async Task<Error?> CheckReferencesAsync(ITenantDbContext db, DealFields fields, Deal? current, CancellationToken ct) =>
        (fields.CompanyId != current?.CompanyId ? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, "companyId", ct) : null)
        ?? (fields.PrimaryContactId != current?.PrimaryContactId
            ? await CrmReferences.CheckContactAsync(db, fields.PrimaryContactId, "primaryContactId", ct)
            : null)
        ?? (fields.OwnerId != current?.OwnerId ? await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, ct) : null);
}
