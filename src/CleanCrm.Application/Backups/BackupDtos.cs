using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Backups;

/// <summary>A backup as owners and auditors see it (SPEC §6.3).</summary>
public sealed record BackupDto(
    Guid Id,
    Guid OrganizationId,
    BackupStatus Status,
    BackupTrigger Trigger,
    string? SchemaVersion,
    long? SizeBytes,
    string? Sha256,
    DateTimeOffset QueuedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? ExpiresAt,
    string? Error)
{
    public static BackupDto From(Backup b, int retentionDays) => new(
        b.Id,
        b.OrganizationId,
        b.Status,
        b.Trigger,
        b.SchemaVersion,
        b.SizeBytes,
        b.Sha256,
        b.QueuedAt,
        b.StartedAt,
        b.FinishedAt,
        b.Status == BackupStatus.Succeeded && b.FinishedAt is { } finished ? finished.AddDays(retentionDays) : null,
        b.Error);
}

public sealed record BackupTableDto(string Name, long RowCount, string ContentHash);

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
        withTables ? [.. b.Tables.OrderBy(t => t.TableName, StringComparer.Ordinal).Select(t => new BackupTableDto(t.TableName, t.RowCount, t.ContentHash))] : null);
}

/// <summary>The outcome of recomputing a stored backup's checksum.</summary>
public sealed record BackupVerificationDto(Guid Id, bool Valid, string? ExpectedSha256, string? ActualSha256, long? ExpectedSizeBytes, long? ActualSizeBytes, string Detail);

/// <summary>A stored backup being downloaded; the endpoint streams and disposes <see cref="Content"/>.</summary>
public sealed record BackupDownload(Stream Content, long Length, string Sha256, string FileName);

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

public sealed record BackupAccessLogPage(IReadOnlyList<BackupAccessEntryDto> Items, string? NextCursor);

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
    string? Error)
{
    public static RestoreDto From(BackupRestore r) => new(
        r.Id, r.BackupId, r.OrganizationId, r.Mode, r.Status, r.TargetServerId, r.DatabaseName, r.PreviousServerId, r.PreviousDatabaseName,
        r.RequestedAt, r.StartedAt, r.FinishedAt, r.ConfirmedAt, r.Error);
}

public sealed record FleetBackupQueued(int Queued);
