using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Wal.Streams.Tests;

/// <summary>
/// Keeps every log line with its level, so a test can assert how loudly the runtime reported something. <paramref name="onLine"/>
/// runs on the logging thread as each line is written, so a test can act at that exact point of the runtime's work.
/// </summary>
internal sealed class RecordingLoggerFactory(Action<string>? onLine = null) : ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(_lines, onLine);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<(LogLevel Level, string Message)> lines, Action<string>? onLine) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            lines.Enqueue((logLevel, message));
            onLine?.Invoke(message);
        }
    }
}
