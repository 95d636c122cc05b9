using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Backups;

/// <summary>A backup as platform admins see it: where it lives and what it holds.</summary>
public sealed record AdminBackupDto(
    Guid Id,
    Guid OrganizationId,
    BackupStatus Status,
    BackupTrigger Trigger,
    Guid? DatabaseServerId,
    string DatabaseName,
    string? SchemaVersion,
    string Store,
    string? Location,
    long? SizeBytes,
    string? Sha256,
    DateTimeOffset QueuedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? PrunedAt,
    string? Error,
    FingerprintAlgorithm FingerprintAlgorithm,
    IReadOnlyList<BackupTableDto>? Tables)
{
    public static AdminBackupDto From(Backup b, bool withTables = false) => new(
        b.Id,
        b.OrganizationId,
        b.Status,
        b.Trigger,
        b.DatabaseServerId,
        b.DatabaseName,
        b.SchemaVersion,
        b.Store,
        b.Location,
        b.SizeBytes,
        b.Sha256,
        b.QueuedAt,
        b.StartedAt,
        b.FinishedAt,
        b.PrunedAt,
        b.Error,
        b.FingerprintAlgorithm,
        withTables ? [.. b.Tables.OrderBy(t => t.TableName, StringComparer.Ordinal).Select(BackupTableDto.From)] : null);
}

public sealed record BackupTableDto(string Name, long RowCount, string ContentHash)
{
    public static BackupTableDto From(BackupTable t) => new(t.TableName, t.RowCount, t.ContentHash);
}
