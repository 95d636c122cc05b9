using System.Linq.Expressions;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.Infrastructure.Jobs;

/// <summary>
/// Queues a Hangfire job, now or after a delay, without letting a job-storage failure escape to the caller: the work's row
/// stays pending and its sweeper or the outbox dispatcher queues it again (docs/adr/0008-email-outbox-in-the-catalog.md,
/// docs/adr/0020-domain-event-outbox.md). A process without job storage queues nothing.
/// </summary>
public static class JobQueuing
{
    /// <summary>
    /// Queues <paramref name="call"/> on the default queue (after <paramref name="delay"/> when it is positive); false when this
    /// process has no job storage or queuing failed, in which case <paramref name="failed"/> is told why.
    /// </summary>
    public static bool TryCreate<TJob>(IServiceProvider services, Expression<Func<TJob, Task>> call, TimeSpan? delay,
        Action<Exception> failed)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(failed);
        if (services.GetService<IBackgroundJobClient>() is not { } jobs)
        {
            return false;
        }

        try
        {
            IState state = delay is { } wait && wait > TimeSpan.Zero
                ? new ScheduledState(wait)
                : new EnqueuedState(HangfireStorage.DefaultQueue);
            jobs.Create(call, state);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            failed(exception);
            return false;
        }
    }

    /// <summary>
    /// The after-commit action of an outbox consumer that created or found work: queues each id; null when there is none.
    /// </summary>
    public static Action? QueueAfterCommit(IEnumerable<Guid> ids, Action<Guid> enqueue)
    {
        var all = ids.ToList();
        return all.Count == 0 ? null : () => all.ForEach(enqueue);
    }
}
