namespace CleanCrm.Application.Fleet;

/// <summary>
/// A fleet migration job: its state (<c>enqueued</c>, <c>processing</c>, <c>succeeded</c>, <c>failed</c>...), the latest
/// progress and, once finished, the report (both JSON documents as the job wrote them).
/// </summary>
public sealed record FleetMigrationStatusDto(string JobId, string State, string? Progress, string? Report)
{
    /// <summary>When the job was queued; null when the job system no longer knows.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>Set when the job migrates one organization only (<c>POST /api/v1/admin/organizations/{id}/migrate</c>).</summary>
    public Guid? OrganizationId { get; init; }

    /// <summary>Whether each tenant is backed up before it is migrated; null: the deployment's default.</summary>
    public bool? SafetyBackup { get; init; }

    /// <summary>Why the job itself failed (state <c>failed</c>); tenant failures are in the report instead.</summary>
    public string? Error { get; init; }
}

/// <summary>Recent fleet migration jobs, newest first.</summary>
public sealed record FleetMigrationListDto(IReadOnlyList<FleetMigrationStatusDto> Items);
