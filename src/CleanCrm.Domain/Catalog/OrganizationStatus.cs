namespace CleanCrm.Domain.Catalog;

public enum OrganizationStatus
{
    Pending,
    Provisioning,
    Active,
    Failed,
    Suspended,

    /// <summary>Being moved to another database server; requests are refused with 409 until the switch.</summary>
    Moving,
    Deleting,
    Deleted,
}
