using System.ComponentModel;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Imports;
using CleanCrm.Infrastructure.Jobs;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Imports;

/// <summary>The Hangfire job (default queue, worker) that runs a contacts import in its organization's tenant scope.</summary>
public sealed class ContactImportJob(ITenantScopeFactory scopes, ContactImporter importer)
{
    /// <summary>
    /// A failed import is recorded on its row (nothing written; the user uploads again), so a retry of it is a no-op.
    /// Retries exist for the orphan case: a worker died mid-import, the queue delivers the job again, and the importer
    /// asks to come back (<see cref="ImportBusyException"/>) until the row is stale and can be claimed again.
    /// </summary>
    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [300, 600, 900, 1200, 1800, 3600, 3600, 3600])]
    [DisplayName("Import contacts {1}")]
    public async Task RunAsync(Guid organizationId, Guid importId, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await importer.RunAsync(importId, cancellationToken);
    }
}

/// <summary>
/// Enqueues imports on Hangfire. A failure is logged and reported to the caller, which fails the import (docs/IMPORTS.md).
/// </summary>
public sealed partial class HangfireImportQueue(IBackgroundJobClient jobs, ILogger<HangfireImportQueue> logger) : IImportQueue
{
    public Task<bool> EnqueueAsync(Guid organizationId, Guid importId, CancellationToken cancellationToken)
    {
        try
        {
            jobs.Create<ContactImportJob>(job => job.RunAsync(organizationId, importId, CancellationToken.None),
                new EnqueuedState(HangfireStorage.DefaultQueue));
            return Task.FromResult(true);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, exception, importId);
            return Task.FromResult(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Could not queue import {ImportId}; it is marked failed and the caller asked to upload again")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid importId);
}
