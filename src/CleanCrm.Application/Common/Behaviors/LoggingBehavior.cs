using System.Diagnostics;
using CleanCrm.Application.Common.Results;
using Mediator;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>Logs request name, duration and outcome; bodies are never logged (they hold personal data).</summary>
public sealed partial class LoggingBehavior<TMessage, TResponse>(ILogger<LoggingBehavior<TMessage, TResponse>> logger)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "exception";
        try
        {
            var response = await next(message, cancellationToken);
            outcome = response is Result { Error: { } error } ? error.Code : "success";
            return response;
        }
        finally
        {
            LogHandled(logger, RequestMetadata<TMessage>.Name, outcome, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Handled {RequestName} with outcome {Outcome} in {ElapsedMs:0.0} ms")]
    private static partial void LogHandled(ILogger logger, string requestName, string outcome, double elapsedMs);
}
