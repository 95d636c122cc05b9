using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Common.Security;

/// <summary>What a request needs from the caller's role in the organization in scope.</summary>
public enum Permission
{
    CrmRead,
    CrmWrite,
    MembersRead,
    MembersManage,
    ApiClientsManage,
    AuditLogRead,
    BackupsRead,
    BillingManage,
    OrganizationDelete,
    OrganizationRead,
    /// <summary>Create, rename, reorder and delete pipelines and their stages (owners and admins).</summary>
    PipelinesManage,
    IntegrationsManage,
    /// <summary>Create, change and delete workflows (owners and admins); reading them is CRM read.</summary>
    WorkflowsManage,
}

/// <summary>Declares the permission a request type needs; the authorization behavior reads it once per type.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresPermissionAttribute(Permission permission) : Attribute
{
    public Permission Permission { get; } = permission;
}

/// <summary>Declares that only platform admins may send this request.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresPlatformAdminAttribute : Attribute;

/// <summary>Declares a request that any signed-in user may send (its handler checks ownership itself).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresSignedInUserAttribute : Attribute;

/// <summary>Declares a request that anyone may send (signup, public lookups); makes the choice explicit.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class AllowAnonymousRequestAttribute : Attribute;

/// <summary>The role → permission matrix (docs/API.md, "Who may call what"), in one place.</summary>
public static class RolePermissions
{
    private static readonly Dictionary<OrgRole, HashSet<Permission>> Matrix = new()
    {
        [OrgRole.Owner] = [.. Enum.GetValues<Permission>()],
        // Backups hold every record of the org: the contract gives them to owners and auditors only.
        [OrgRole.Admin] =
            [.. Enum.GetValues<Permission>().Except([Permission.BillingManage, Permission.OrganizationDelete, Permission.BackupsRead])],
        [OrgRole.Member] = [Permission.CrmRead, Permission.CrmWrite, Permission.MembersRead, Permission.OrganizationRead],
        [OrgRole.Readonly] = [Permission.CrmRead, Permission.MembersRead, Permission.OrganizationRead],
        [OrgRole.Auditor] = [Permission.AuditLogRead, Permission.BackupsRead, Permission.OrganizationRead],
    };

    public static bool Allows(OrgRole role, Permission permission) => Matrix[role].Contains(permission);
}
