namespace CleanCrm.Domain.Tenant;

/// <summary>
/// The organization's choices for its Fathom meeting sync (one row; none means the platform default applies,
/// docs/INTEGRATIONS.md, "Fathom").
/// </summary>
public sealed class FathomSettings
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;

    /// <summary>External invitees who are neither contacts nor members become contacts (source <c>fathom</c>).</summary>
    public bool CreateContacts { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedBy { get; set; }
}
