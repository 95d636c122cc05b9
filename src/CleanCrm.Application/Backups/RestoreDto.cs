using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Backups;

public sealed record RestoreDto(
    Guid Id,
    Guid BackupId,
    Guid OrganizationId,
    RestoreMode Mode,
    RestoreStatus Status,
    Guid TargetServerId,
    string DatabaseName,
    Guid? PreviousServerId,
    string? PreviousDatabaseName,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? ConfirmedAt,
    string? Error) : IPlatformAuditedResult
{
    Guid? IPlatformAuditedResult.AuditOrganizationId => OrganizationId;

    public static RestoreDto From(BackupRestore r) => new(
        r.Id, r.BackupId, r.OrganizationId, r.Mode, r.Status, r.TargetServerId, r.DatabaseName, r.PreviousServerId, r.PreviousDatabaseName,
        r.RequestedAt, r.StartedAt, r.FinishedAt, r.ConfirmedAt, r.Error);
}
