using CleanCrm.Domain.Catalog;

namespace CleanCrm.Domain.Tenant;

/// <summary>An organization's user as seen inside its own database; the id is the catalog user id.</summary>
public sealed class Member
{
    public Guid Id { get; set; }

    public required string Email { get; set; }

    public required string Name { get; set; }

    public OrgRole Role { get; set; }

    public bool IsActive { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
