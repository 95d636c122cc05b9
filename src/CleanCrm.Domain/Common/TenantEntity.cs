namespace CleanCrm.Domain.Common;

/// <summary>A record stored in a tenant database: UUID id, audit stamps, soft delete and optimistic concurrency.</summary>
public abstract class TenantEntity
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public DateTimeOffset CreatedAt { get; set; }

    public Guid? CreatedBy { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedBy { get; set; }

    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>PostgreSQL's <c>xmin</c>: changes on every update, so it is the ETag and the concurrency token.</summary>
    public uint Version { get; set; }

    public bool IsDeleted => DeletedAt is not null;
}
