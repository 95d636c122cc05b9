using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.PlatformAudit;

/// <summary>
/// Appends to the platform audit log in its own unit of work: the entry is saved whatever the handler left pending (or
/// rolled back) in the request's catalog context, and nothing else the handler tracked is saved with it.
/// </summary>
public interface IPlatformAuditWriter
{
    /// <summary>Saves the entry; fills <see cref="PlatformAuditEntry.ActorEmail"/> from the catalog when it is missing.</summary>
    Task AppendAsync(PlatformAuditEntry entry, CancellationToken cancellationToken);
}
