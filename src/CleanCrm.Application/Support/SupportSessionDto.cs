using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Support;

/// <summary>A support session as admins see it; <see cref="Active"/> is computed at read time (not revoked, not expired).</summary>
public sealed record SupportSessionDto(
    Guid Id,
    Guid OrganizationId,
    Guid AdminUserId,
    string? AdminEmail,
    string Reason,
    DateTimeOffset StartedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RevokedAt,
    bool Active) : IPlatformAuditedResult
{
    Guid? IPlatformAuditedResult.AuditOrganizationId => OrganizationId;

    Guid? IPlatformAuditedResult.AuditTargetId => Id;

    public static SupportSessionDto From(SupportSession s, string? adminEmail, DateTimeOffset now) =>
        new(s.Id, s.OrganizationId, s.AdminUserId, adminEmail, s.Reason, s.StartedAt, s.ExpiresAt, s.RevokedAt, s.IsActiveAt(now));
}

/// <summary>Every support session matching the filters, newest first (a short list: sessions are rare and brief).</summary>
public sealed record SupportSessionList(IReadOnlyList<SupportSessionDto> Items);

/// <summary>One CRM record seen through a support session: enough to recognise it, nothing to edit.</summary>
public sealed record SupportRecordDto(Guid Id, string Name, string? Detail, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

internal static class SupportErrors
{
    public const string SessionInactive = "support_session_inactive";

    public static Common.Results.Error Inactive(SupportSession session) => Common.Results.Error.Forbidden(
        SessionInactive, $"Support session '{session.Id}' has {(session.RevokedAt is null ? "expired" : "been revoked")}; open a new one.");
}
