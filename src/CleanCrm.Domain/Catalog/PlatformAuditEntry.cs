namespace CleanCrm.Domain.Catalog;

/// <summary>
/// One platform-admin action (docs/SECURITY.md, "Platform audit log"). Append-only: the catalog refuses UPDATE, DELETE
/// and TRUNCATE on its table, so an entry can be neither changed nor removed.
/// </summary>
public sealed class PlatformAuditEntry
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    public Guid Id { get; set; } = Guid.CreateVersion7();

    public DateTimeOffset OccurredAt { get; set; }

    public Guid? ActorUserId { get; set; }

    public string? ActorEmail { get; set; }

    /// <summary><c>api</c>, <c>console</c>, <c>cli</c> or <c>job</c>.</summary>
    public required string Channel { get; set; }

    public string? IpAddress { get; set; }

    public string? UserAgent { get; set; }

    /// <summary>What was done, e.g. <c>organization.suspend</c> (derived from the command's name).</summary>
    public required string Action { get; set; }

    public Guid? OrganizationId { get; set; }

    public Guid? TargetId { get; set; }

    public string? Reason { get; set; }

    /// <summary><see cref="Succeeded"/> or <see cref="Failed"/>.</summary>
    public required string Outcome { get; set; }

    /// <summary>The problem code of a failed action (<c>validation_failed</c>, <c>conflict</c>…).</summary>
    public string? Error { get; set; }
}
