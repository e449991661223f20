using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Wal.Grpc;

namespace Wal.Ingress;

/// <summary>
/// Bounds the open connections on the gRPC port: one over the bound is closed as it arrives,
/// before TLS or HTTP/2 spend anything on it. Kestrel's own limit counts every endpoint, so a
/// flood of callers would also shut out the probes on the admin port.
/// </summary>
public sealed partial class ConnectionLimit(int maxConnections)
{
    // A flood of refused connections must not flood the log as well: one warning, then at most one
    // a minute, each with the count since the one before.
    private static readonly long WarningIntervalMs = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;

    private long _open;
    private long _refused;
    private long _nextWarningAtMs = long.MinValue;
    private long _refusedWhenWarned;

    /// <summary>Connections open on the gRPC port now.</summary>
    public long Open => Interlocked.Read(ref _open);

    /// <summary>Connections closed on arrival because the bound was full, since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The connection middleware that applies the bound; add it before TLS.</summary>
    public ConnectionDelegate Apply(ConnectionDelegate next, ILogger logger) => async connection =>
    {
        if (!BoundedCounter.TryAdd(ref _open, 1, maxConnections))
        {
            Interlocked.Increment(ref _refused);
            // Before the close: a caller, or a test, that sees its connection refused finds it in the log already.
            WarnRefused(logger);
            connection.Abort(new ConnectionAbortedException($"The ingress already has {maxConnections} connections open (MaxConnections)."));
            return;
        }

        try
        {
            await next(connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    private void WarnRefused(ILogger logger)
    {
        var now = Environment.TickCount64;
        var due = Interlocked.Read(ref _nextWarningAtMs);
        if (now < due || Interlocked.CompareExchange(ref _nextWarningAtMs, now + WarningIntervalMs, due) != due)
        {
            return;
        }

        var refused = Refused;
        Refusing(logger, refused - Interlocked.Exchange(ref _refusedWhenWarned, refused), maxConnections);
    }

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Closed {Count} new connection(s) on the gRPC port since the last such warning: {MaxConnections} were open (MaxConnections); at most one such warning a minute")]
    private static partial void Refusing(ILogger logger, long count, int maxConnections);
}
