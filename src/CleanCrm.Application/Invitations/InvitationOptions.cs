namespace CleanCrm.Application.Invitations;

/// <summary>Invitation settings (section <c>CleanCrm:Invitations</c>).</summary>
public sealed class InvitationOptions
{
    public const string SectionName = "CleanCrm:Invitations";

    /// <summary>How long an invitation link works.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromDays(7);
}
