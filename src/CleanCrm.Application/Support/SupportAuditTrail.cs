using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Support;

/// <summary>
/// The entries a support session leaves in the organization's own audit log, so its owners and auditors see who looked,
/// why and until when (<c>GET /api/v1/audit-log?entityType=support_session</c>).
/// </summary>
internal static class SupportAuditTrail
{
    public const string EntityType = "support_session";
    public const string Started = "support_started";
    public const string Revoked = "support_revoked";

    public static AuditEntry StartedEntry(SupportSession session, string? adminEmail) => new()
    {
        OccurredAt = session.StartedAt,
        ActorId = session.AdminUserId,
        Action = Started,
        EntityType = EntityType,
        EntityId = session.Id,
        Changes = new JsonObject
        {
            ["adminUserId"] = session.AdminUserId,
            ["adminEmail"] = adminEmail,
            ["reason"] = session.Reason,
            ["startedAt"] = session.StartedAt,
            ["expiresAt"] = session.ExpiresAt,
            ["access"] = "read-only",
        }.ToJsonString(),
        CorrelationId = System.Diagnostics.Activity.Current?.TraceId.ToHexString(),
    };

    public static AuditEntry RevokedEntry(SupportSession session, Guid? revokedBy) => new()
    {
        OccurredAt = session.RevokedAt!.Value,
        ActorId = revokedBy,
        Action = Revoked,
        EntityType = EntityType,
        EntityId = session.Id,
        Changes = new JsonObject { ["revokedAt"] = new JsonObject { ["from"] = null, ["to"] = session.RevokedAt } }.ToJsonString(),
        CorrelationId = System.Diagnostics.Activity.Current?.TraceId.ToHexString(),
    };
}
