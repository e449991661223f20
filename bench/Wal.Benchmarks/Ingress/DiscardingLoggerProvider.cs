using Microsoft.Extensions.Logging;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// A provider that listens at every level and drops what it gets: the host's decisions that hang on whether anyone
/// listens are taken as in a real run, without the console's own cost in the figures.
/// </summary>
internal sealed class DiscardingLoggerProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => DiscardingLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class DiscardingLogger : ILogger
    {
        public static readonly DiscardingLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
