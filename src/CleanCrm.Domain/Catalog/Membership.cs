namespace CleanCrm.Domain.Catalog;

/// <summary>A user's role in one organization.</summary>
public sealed class Membership
{
    public Guid OrganizationId { get; set; }

    public Organization? Organization { get; set; }

    public Guid UserId { get; set; }

    public UserAccount? User { get; set; }

    public OrgRole Role { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
