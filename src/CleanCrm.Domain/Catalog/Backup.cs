namespace CleanCrm.Domain.Catalog;

public enum BackupStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Pruned,
}

/// <summary>Why a backup was taken.</summary>
public enum BackupTrigger
{
    Scheduled,
    Manual,
    PreDelete,
    PreMove,
    PreMigration,
    Drill,
}

/// <summary>How the content hashes of a backup's tables were computed (a restore is verified with the same one).</summary>
public enum FingerprintAlgorithm
{
    /// <summary>md5 over the sorted md5s of the rows' text (backups taken before 2026-11-26).</summary>
    Md5,

    /// <summary>
    /// Two 64-bit sums (mod 2^64) of PostgreSQL's <c>hashtextextended</c> of every row's text, seeds 0 and 1, as 32 hex
    /// digits: order-independent, no sort and no md5 per row (about a third of the CPU of <see cref="Md5"/>).
    /// </summary>
    Sum128,
}

/// <summary>
/// One <c>pg_dump -Fc</c> of a tenant database in the backup store, with what it should contain: the row count and a
/// content hash of every table, taken in the same snapshot as the dump, so a restore can be verified table by table.
/// </summary>
public sealed class Backup
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public Guid? DatabaseServerId { get; set; }

    public string DatabaseName { get; set; } = string.Empty;

    /// <summary>The last tenant migration in the dumped database.</summary>
    public string? SchemaVersion { get; set; }

    public BackupTrigger Trigger { get; set; }

    public BackupStatus Status { get; set; } = BackupStatus.Queued;

    /// <summary>Which store holds it (<c>filesystem</c>, <c>azure_blob</c>) and where in it.</summary>
    public string Store { get; set; } = string.Empty;

    public string? Location { get; set; }

    public long? SizeBytes { get; set; }

    /// <summary>Lowercase hex SHA-256 of the stored file, computed while it was written.</summary>
    public string? Sha256 { get; set; }

    public Guid? RequestedBy { get; set; }

    public DateTimeOffset QueuedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset? PrunedAt { get; set; }

    public string? Error { get; set; }

    public FingerprintAlgorithm FingerprintAlgorithm { get; set; } = FingerprintAlgorithm.Sum128;

    public List<BackupTable> Tables { get; set; } = [];
}

/// <summary>A table's row count and content hash at backup time (see <see cref="FingerprintAlgorithm"/>).</summary>
public sealed class BackupTable
{
    public Guid BackupId { get; set; }

    public required string TableName { get; set; }

    public long RowCount { get; set; }

    public required string ContentHash { get; set; }
}

public enum RestoreMode
{
    SideBySide,
    Switch,
}

public enum RestoreStatus
{
    Queued,
    Running,

    /// <summary>Side by side: restored and verified, left for inspection until confirmed (dropped).</summary>
    Verified,

    /// <summary>Switch: the organization now uses the restored database; the old one is kept until confirmed.</summary>
    Switched,
    Failed,

    /// <summary>An admin confirmed: the leftover database (old one, or the side-by-side copy) was dropped.</summary>
    Confirmed,
}

/// <summary>A restore of a backup into a new database, with its verification outcome.</summary>
public sealed class BackupRestore
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid BackupId { get; set; }

    public Guid OrganizationId { get; set; }

    public Guid TargetServerId { get; set; }

    /// <summary>The database the backup was restored into (the organization's own name once switched).</summary>
    public string DatabaseName { get; set; } = string.Empty;

    public RestoreMode Mode { get; set; }

    public RestoreStatus Status { get; set; } = RestoreStatus.Queued;

    /// <summary>Switch: where the organization's previous database now is, kept until an admin confirms.</summary>
    public Guid? PreviousServerId { get; set; }

    public string? PreviousDatabaseName { get; set; }

    public Guid? RequestedBy { get; set; }

    public DateTimeOffset RequestedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset? ConfirmedAt { get; set; }

    public string? Error { get; set; }

    public static string ScratchDatabaseName(Guid restoreId) => $"cleancrm_r_{restoreId:N}";

    public static string RetiredDatabaseName(Guid restoreId) => $"cleancrm_o_{restoreId:N}";
}

public enum BackupAccessAction
{
    List,
    Verify,
    Download,
}

/// <summary>One access to an organization's backups; the catalog refuses updates and deletes of these rows.</summary>
public sealed class BackupAccessEntry
{
    public long Id { get; set; }

    public Guid OrganizationId { get; set; }

    public Guid? BackupId { get; set; }

    public Guid? UserId { get; set; }

    public bool ByPlatformAdmin { get; set; }

    public BackupAccessAction Action { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public string? ClientAddress { get; set; }

    /// <summary>What came of it, e.g. "ok", "checksum mismatch", "12 backups".</summary>
    public string? Outcome { get; set; }
}
