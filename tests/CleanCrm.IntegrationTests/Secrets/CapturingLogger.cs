using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CleanCrm.IntegrationTests.Secrets;

internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<LoggedMessage> _messages = new();

    public IReadOnlyList<LoggedMessage> Messages => [.. _messages];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _messages.Enqueue(new LoggedMessage(logLevel, formatter(state, exception)));
    }
}

internal sealed record LoggedMessage(LogLevel Level, string Text);
