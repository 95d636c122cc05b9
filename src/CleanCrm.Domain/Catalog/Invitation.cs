namespace CleanCrm.Domain.Catalog;

/// <summary>
/// An invitation to join an organization. The token travels only by email; the catalog keeps its SHA-256 hash, so a
/// catalog leak does not hand out memberships. Re-inviting the same address replaces the token of the pending row.
/// </summary>
public sealed class Invitation
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public required string Email { get; set; }

    public required string NormalizedEmail { get; set; }

    public OrgRole Role { get; set; }

    /// <summary>Lower-case hex SHA-256 of the token; unique.</summary>
    public required string TokenHash { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public Guid? InvitedByUserId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? AcceptedAt { get; set; }

    public Guid? AcceptedByUserId { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public bool IsPending(DateTimeOffset now) => AcceptedAt is null && RevokedAt is null && ExpiresAt > now;

    public string Status(DateTimeOffset now) =>
        AcceptedAt is not null ? "accepted" : RevokedAt is not null ? "revoked" : ExpiresAt <= now ? "expired" : "pending";
}
