using Microsoft.Extensions.Logging;

namespace Wal.Cli.Local;

/// <summary>Lets the ingress's web host log through the same logger factory as the rest of the run.</summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory loggers) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => loggers.CreateLogger(categoryName);

    public void Dispose()
    {
    }
}
