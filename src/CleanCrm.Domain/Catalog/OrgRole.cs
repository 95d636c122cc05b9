namespace CleanCrm.Domain.Catalog;

/// <summary>Roles inside one organization (docs/API.md, "Who may call what").</summary>
public enum OrgRole
{
    Owner,
    Admin,
    Member,
    Readonly,
    Auditor,
}
