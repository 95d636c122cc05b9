using CleanCrm.Domain.Common;

namespace CleanCrm.Domain.Catalog;

/// <summary>A customer organization (tenant) as the catalog knows it, including where its database lives.</summary>
public sealed class Organization
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Slug { get; set; }

    public required string Name { get; set; }

    public OrganizationStatus Status { get; set; } = OrganizationStatus.Pending;

    public required string PlanKey { get; set; }

    public Guid? DatabaseServerId { get; set; }

    public DatabaseServer? DatabaseServer { get; set; }

    /// <summary>Derived from the id, never from user input (docs/MULTI_TENANCY.md).</summary>
    public string DatabaseName { get; set; } = string.Empty;

    public string DatabaseRole { get; set; } = string.Empty;

    /// <summary>The id of the last tenant migration applied to this organization's database.</summary>
    public string? SchemaVersion { get; set; }

    /// <summary>The database's size as last measured (<c>pg_database_size</c>, hourly job); null before the first measurement.</summary>
    public long? DatabaseSizeBytes { get; set; }

    public DateTimeOffset? DatabaseSizeMeasuredAt { get; set; }

    /// <summary>Members must sign in with a second factor; those without one enrol at their next sign-in.</summary>
    public bool RequireTwoFactor { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? ActivatedAt { get; set; }

    public DateTimeOffset? SuspendedAt { get; set; }

    public uint Version { get; set; }

    public static string DatabaseNameFor(Guid organizationId) => $"cleancrm_t_{organizationId:N}";

    public static string DatabaseRoleFor(Guid organizationId) => $"cleancrm_t_{organizationId:N}";

    public void AssignDatabase(Guid databaseServerId)
    {
        DatabaseServerId = databaseServerId;
        DatabaseName = DatabaseNameFor(Id);
        DatabaseRole = DatabaseRoleFor(Id);
    }

    public void Activate(DateTimeOffset now, string schemaVersion)
    {
        if (Status is OrganizationStatus.Deleting or OrganizationStatus.Deleted)
        {
            throw new DomainException($"Organization {Id} is {Status} and cannot be activated.");
        }

        Status = OrganizationStatus.Active;
        SchemaVersion = schemaVersion;
        ActivatedAt ??= now;
        UpdatedAt = now;
    }

    public void Suspend(DateTimeOffset now)
    {
        if (Status != OrganizationStatus.Active)
        {
            throw new DomainException($"Only an active organization can be suspended; {Slug} is {Status}.");
        }

        Status = OrganizationStatus.Suspended;
        SuspendedAt = now;
        UpdatedAt = now;
    }

    public void Resume(DateTimeOffset now)
    {
        if (Status != OrganizationStatus.Suspended)
        {
            throw new DomainException($"Only a suspended organization can be resumed; {Slug} is {Status}.");
        }

        Status = OrganizationStatus.Active;
        SuspendedAt = null;
        UpdatedAt = now;
    }
}
