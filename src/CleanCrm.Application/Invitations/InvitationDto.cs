using CleanCrm.Application.Members;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Invitations;

/// <summary>An invitation as owners and admins see it; the token is never part of it (it travels only by email).</summary>
public sealed record InvitationDto(
    Guid Id, string Email, string Role, string Status, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt, Guid? InvitedBy)
{
    internal static InvitationDto From(Invitation invitation, DateTimeOffset now) => new(
        invitation.Id,
        invitation.Email,
        MemberRoles.Name(invitation.Role),
        invitation.Status(now),
        invitation.ExpiresAt,
        invitation.CreatedAt,
        invitation.InvitedByUserId);
}
