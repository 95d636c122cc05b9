namespace CleanCrm.Domain.Catalog;

/// <summary>
/// A time-boxed, read-only window in which one platform admin may look at one organization's CRM records
/// (docs/SECURITY.md, "Support access"). It ends at <see cref="ExpiresAt"/> or when revoked, whichever comes first.
/// </summary>
public sealed class SupportSession
{
    public const int MaxMinutes = 60;
    public const int MaxReasonLength = 500;

    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public Guid AdminUserId { get; set; }

    public required string Reason { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public Guid? RevokedBy { get; set; }

    public bool IsActiveAt(DateTimeOffset now) => RevokedAt is null && now < ExpiresAt;
}
