using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Common.Persistence;

/// <summary>
/// Reaches a named organization's own database from a request that is not scoped to it (platform-admin work such as
/// support sessions). The request's own <see cref="ITenantDbContext"/> serves only the organization in scope.
/// </summary>
public interface ITenantDatabaseAccess
{
    /// <summary>Runs <paramref name="read"/> in a READ ONLY transaction: PostgreSQL itself refuses any write it attempts.</summary>
    Task<T> ReadAsync<T>(Guid organizationId, Func<ITenantDbContext, CancellationToken, Task<T>> read, CancellationToken cancellationToken);

    /// <summary>Appends one entry to the organization's audit log (visible to its owners and auditors).</summary>
    Task AppendAuditEntryAsync(Guid organizationId, AuditEntry entry, CancellationToken cancellationToken);
}
