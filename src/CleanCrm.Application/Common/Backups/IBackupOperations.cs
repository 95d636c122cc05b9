using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Common.Backups;

/// <summary>Backups as the use cases see them: queue jobs, read the store, drop what a confirmed restore left behind.</summary>
public interface IBackupOperations
{
    /// <summary>Records a queued backup in the catalog and hands it to the job queue; returns its id.</summary>
    Task<Guid> QueueBackupAsync(Guid organizationId, BackupTrigger trigger, Guid? requestedBy, CancellationToken cancellationToken);

    /// <summary>Queues a backup of every active or suspended organization; returns how many were queued.</summary>
    Task<int> QueueFleetBackupAsync(Guid? requestedBy, CancellationToken cancellationToken);

    Task QueueRestoreAsync(Guid restoreId, CancellationToken cancellationToken);

    /// <summary>Reads the stored file end to end; null when it is missing from the store.</summary>
    Task<BackupChecksum?> ComputeChecksumAsync(Backup backup, CancellationToken cancellationToken);

    /// <summary>The stored file as a forward-only stream with its length in the store, or null when it is missing.</summary>
    Task<BackupContent?> OpenAsync(Backup backup, CancellationToken cancellationToken);

    /// <summary>Drops the database a finished restore left behind (the old one after a switch, or the side-by-side copy).</summary>
    Task DropRestoreLeftoverAsync(BackupRestore restore, CancellationToken cancellationToken);
}

public sealed record BackupChecksum(string Sha256, long SizeBytes);

public sealed record BackupContent(Stream Content, long Length);
