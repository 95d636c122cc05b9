using System.Globalization;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups;

/// <summary>Appends to the backup access log; the catalog refuses to change or delete its rows.</summary>
internal static class BackupAccessLogWriter
{
    public static void Append(
        ICatalogDbContext db,
        ICallerContext caller,
        TimeProvider clock,
        Guid organizationId,
        BackupAccessAction action,
        Guid? backupId,
        string? clientAddress,
        string outcome) =>
        db.BackupAccessLog.Add(new BackupAccessEntry
        {
            OrganizationId = organizationId,
            BackupId = backupId,
            UserId = caller.UserId,
            ByPlatformAdmin = caller.IsPlatformAdmin && caller.Role is null,
            Action = action,
            OccurredAt = clock.GetUtcNow(),
            ClientAddress = clientAddress is { Length: > 64 } ? clientAddress[..64] : clientAddress,
            Outcome = outcome.Length > 500 ? outcome[..500] : outcome,
        });

    public static async Task<BackupAccessLogPage> PageAsync(
        ICatalogDbContext db, Guid organizationId, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var size = limit ?? Cursor.DefaultLimit;
        var entries = db.BackupAccessLog.AsNoTracking().Where(e => e.OrganizationId == organizationId);
        if (cursor is not null)
        {
            var before = long.Parse(cursor, CultureInfo.InvariantCulture);
            entries = entries.Where(e => e.Id < before);
        }

        var rows = await entries.OrderByDescending(e => e.Id).Take(size + 1).ToListAsync(cancellationToken);
        var next = rows.Count > size ? rows[size - 1].Id.ToString(CultureInfo.InvariantCulture) : null;
        return new BackupAccessLogPage([.. rows.Take(size).Select(BackupAccessEntryDto.From)], next);
    }

    public static bool IsCursor(string? cursor) =>
        cursor is null || (long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0);
}
