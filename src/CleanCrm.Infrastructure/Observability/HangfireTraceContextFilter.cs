using System.Diagnostics;
using Hangfire.Client;
using Hangfire.Server;
using Serilog.Context;

namespace CleanCrm.Infrastructure.Observability;

/// <summary>
/// Carries the W3C trace context (and the org id of the enqueuing request) from <c>Enqueue</c> to the job's execution, so
/// one trace runs from the API request through the job it queued and the job's SQL. Registered globally by
/// <see cref="Telemetry.UseCleanCrmTraceContext"/> in every process that enqueues or performs jobs.
/// </summary>
public sealed class HangfireTraceContextFilter : IClientFilter, IServerFilter
{
    /// <summary>The activity source of job executions (span name <c>hangfire.job Type.Method</c>).</summary>
    public static readonly ActivitySource Source = new(Telemetry.JobsSourceName);

    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";
    private const string OrgId = "cleancrm.org_id";
    private const string ActivityItem = "cleancrm.activity";
    private const string LogScopeItem = "cleancrm.logscope";

    public void OnCreating(CreatingContext context)
    {
        if (Activity.Current is not { } current)
        {
            return;
        }

        context.SetJobParameter(TraceParent, current.Id);
        if (!string.IsNullOrEmpty(current.TraceStateString))
        {
            context.SetJobParameter(TraceState, current.TraceStateString);
        }

        // The org of the request (set by org resolution or by signup) follows the job, for its span and its logs.
        if (OrgOf(current) is { } org)
        {
            context.SetJobParameter(OrgId, org);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        var parentId = context.GetJobParameter<string>(TraceParent);
        ActivityContext.TryParse(parentId, context.GetJobParameter<string>(TraceState), out var parent);
        var job = context.BackgroundJob.Job;
        var name = job is null ? "hangfire.job" : $"hangfire.job {job.Type.Name}.{job.Method.Name}";
        var activity = Source.StartActivity(name, ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "hangfire");
        activity?.SetTag("messaging.message.id", context.BackgroundJob.Id);
        var org = context.GetJobParameter<string>(OrgId);
        if (org is not null)
        {
            activity?.SetTag(OrgId, org);
            context.Items[LogScopeItem] = LogContext.PushProperty("OrgId", org);
        }

        context.Items[ActivityItem] = activity;
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(LogScopeItem, out var scope))
        {
            (scope as IDisposable)?.Dispose();
        }

        if (context.Items.TryGetValue(ActivityItem, out var item) && item is Activity activity)
        {
            if (context.Exception is { } exception && !context.ExceptionHandled)
            {
                activity.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
                activity.AddException(exception);
            }

            activity.Dispose();
        }
    }

    private static string? OrgOf(Activity activity)
    {
        for (var a = activity; a is not null; a = a.Parent)
        {
            if (a.GetTagItem(OrgId) is { } org)
            {
                return org.ToString();
            }
        }

        return null;
    }
}
