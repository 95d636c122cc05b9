using System.Diagnostics;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Application.Common.Behaviors;

public sealed class PipelineOptions
{
    public const string SectionName = "CleanCrm:Pipeline";

    /// <summary>Handlers slower than this are logged as warnings.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 600_000)]
    public int SlowRequestThresholdMs { get; set; } = 500;
}

/// <summary>Warns about slow handlers (inner timing, after validation) so regressions show up in logs and dashboards.</summary>
public sealed partial class PerformanceBehavior<TMessage, TResponse>(
    ILogger<PerformanceBehavior<TMessage, TResponse>> logger,
    IOptions<PipelineOptions> options) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await next(message, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (elapsed > options.Value.SlowRequestThresholdMs)
        {
            LogSlow(logger, RequestMetadata<TMessage>.Name, elapsed, options.Value.SlowRequestThresholdMs);
        }

        return response;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slow request {RequestName}: {ElapsedMs:0} ms (threshold {ThresholdMs} ms)")]
    private static partial void LogSlow(ILogger logger, string requestName, double elapsedMs, int thresholdMs);
}
