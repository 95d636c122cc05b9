using Mediator;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>Outermost: records any unexpected exception with the request name (never its body) and lets it propagate.</summary>
public sealed partial class UnhandledExceptionBehavior<TMessage, TResponse>(ILogger<UnhandledExceptionBehavior<TMessage, TResponse>> logger)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        try
        {
            return await next(message, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception exception)
        {
            LogUnhandled(logger, exception, RequestMetadata<TMessage>.Name);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {RequestName} failed with an unhandled exception")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string requestName);
}
