using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Tenant;

public enum ImportStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// <summary>What an import does with a row whose email already belongs to a live contact.</summary>
public enum DuplicatePolicy
{
    Skip,
    Update,
}

/// <summary>
/// A bulk import of a CSV file (today: contacts). The upload is kept in <see cref="ImportUploadChunk"/> rows until the job
/// has run; the counts, the first row errors and the timings are what <c>GET /api/v1/imports/{id}</c> shows.
/// </summary>
public sealed class Import : TenantEntity
{
    public const string ContactsKind = "contacts";

    public string Kind { get; set; } = ContactsKind;

    public ImportStatus Status { get; set; }

    public DuplicatePolicy OnDuplicate { get; set; }

    public string? FileName { get; set; }

    public long SizeBytes { get; set; }

    public int RowsRead { get; set; }

    public int Inserted { get; set; }

    public int Updated { get; set; }

    public int Skipped { get; set; }

    public int Failed { get; set; }

    public int CompaniesCreated { get; set; }

    /// <summary>The first row errors as a JSON array of <c>{line, field, message}</c> (jsonb).</summary>
    public string Errors { get; set; } = "[]";

    /// <summary>Why the whole import failed (nothing was written); null unless <see cref="Status"/> is failed.</summary>
    public string? FailureReason { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }
}

/// <summary>One slice of an uploaded file, stored in the tenant database so any worker can read it; deleted after the job.</summary>
public sealed class ImportUploadChunk
{
    public Guid ImportId { get; set; }

    public int Sequence { get; set; }

    public byte[] Data { get; set; } = [];
}
