using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.PlatformAudit;

/// <summary>One platform-admin action as the audit log shows it (docs/API.md, "Platform administration").</summary>
public sealed record PlatformAuditEntryDto(
    Guid Id,
    DateTimeOffset OccurredAt,
    Guid? ActorUserId,
    string? ActorEmail,
    string Channel,
    string? IpAddress,
    string? UserAgent,
    string Action,
    Guid? OrganizationId,
    string? OrganizationSlug,
    Guid? TargetId,
    string? Reason,
    string Outcome,
    string? Error)
{
    public static PlatformAuditEntryDto From(PlatformAuditEntry e, string? organizationSlug) => new(
        e.Id, e.OccurredAt, e.ActorUserId, e.ActorEmail, e.Channel, e.IpAddress, e.UserAgent, e.Action, e.OrganizationId,
        organizationSlug, e.TargetId, e.Reason, e.Outcome, e.Error);
}
