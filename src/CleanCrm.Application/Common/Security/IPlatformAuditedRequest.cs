namespace CleanCrm.Application.Common.Security;

/// <summary>
/// What a platform-admin command tells the platform audit log beyond who, when and from where. Commands that do not
/// implement it are still logged, without organization, target or reason.
/// </summary>
public interface IPlatformAuditedRequest
{
    /// <summary>The organization the command acts on, when the request names it.</summary>
    Guid? AuditOrganizationId { get; }

    /// <summary>Why the admin did it (suspend, resume, delete, support access).</summary>
    string? AuditReason { get; }

    /// <summary>The other thing acted on (a backup, a restore, a support session), when there is one.</summary>
    Guid? AuditTargetId => null;
}

/// <summary>
/// A command result that names the organization acted on, for commands whose request names only a backup or a restore.
/// </summary>
public interface IPlatformAuditedResult
{
    Guid? AuditOrganizationId { get; }

    /// <summary>The thing created or acted on (a new support session), when the request could not name it.</summary>
    Guid? AuditTargetId => null;
}
