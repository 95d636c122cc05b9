namespace CleanCrm.Domain.Catalog;

public enum OrganizationStatus
{
    Pending,
    Provisioning,
    Active,
    Failed,
    Suspended,
    Deleting,
    Deleted,
}
