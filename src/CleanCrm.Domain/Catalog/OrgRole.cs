namespace CleanCrm.Domain.Catalog;

/// <summary>Roles inside one organization (SPEC §5).</summary>
public enum OrgRole
{
    Owner,
    Admin,
    Member,
    Readonly,
    Auditor,
}
