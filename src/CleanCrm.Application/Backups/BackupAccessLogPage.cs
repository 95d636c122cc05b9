using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Backups;

public sealed record BackupAccessLogPage(IReadOnlyList<BackupAccessEntryDto> Items, string? NextCursor);

public sealed record BackupAccessEntryDto(
    long Id,
    Guid OrganizationId,
    Guid? BackupId,
    Guid? UserId,
    bool ByPlatformAdmin,
    BackupAccessAction Action,
    DateTimeOffset OccurredAt,
    string? ClientAddress,
    string? Outcome)
{
    public static BackupAccessEntryDto From(BackupAccessEntry e) =>
        new(e.Id, e.OrganizationId, e.BackupId, e.UserId, e.ByPlatformAdmin, e.Action, e.OccurredAt, e.ClientAddress, e.Outcome);
}
