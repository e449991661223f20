using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Wal.Grpc;

namespace Wal.Ingress;

/// <summary>
/// Bounds the open connections on the gRPC port: one over the bound is closed as it arrives,
/// before TLS or HTTP/2 spend anything on it. Kestrel's own limit counts every endpoint, so a
/// flood of callers would also shut out the probes on the admin port.
/// </summary>
public sealed partial class ConnectionLimit(int maxConnections, TimeProvider? time = null) : IDisposable
{
    // A flood of refused connections must not flood the log as well: one warning, then at most one
    // a minute, each with the count since the one before. Refusals after a warning are warned of when
    // the minute is over, by a timer, even if none follows: the last minute of a flood would otherwise
    // reach only the counter.
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _warning = new();
    private long _open;
    private long _refused;
    private long _nextWarningAt = long.MinValue;
    private long _refusedWhenWarned;
    private ITimer? _pendingWarning;
    // How many timers were scheduled: each callback knows its own by this number.
    private long _pendingWarnings;
    private ILogger? _pendingLogger;
    private bool _disposed;

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

    /// <summary>Warns at once of refusals still waiting for their warning (the instance stops), and cancels the timer.</summary>
    public void Dispose()
    {
        lock (_warning)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_pendingWarning is { } pending)
            {
                pending.Dispose();
                _pendingWarning = null;
                Warn(_pendingLogger!, _time.GetTimestamp());
            }
        }
    }

    private void WarnRefused(ILogger logger)
    {
        var now = _time.GetTimestamp();
        // Mid-flood, with this minute's warning written and the next one scheduled, a refusal is only counted.
        if (now < Volatile.Read(ref _nextWarningAt) && Volatile.Read(ref _pendingWarning) is not null)
        {
            return;
        }

        lock (_warning)
        {
            if (_disposed)
            {
                return;
            }

            if (now >= _nextWarningAt)
            {
                // This warning counts what the scheduled one would have.
                _pendingWarning?.Dispose();
                Volatile.Write(ref _pendingWarning, null);
                Warn(logger, now);
            }
            else if (_pendingWarning is null)
            {
                _pendingLogger = logger;
                var scheduled = ++_pendingWarnings;
                Volatile.Write(ref _pendingWarning, _time.CreateTimer(_ => WarnPending(scheduled), null, _time.GetElapsedTime(now, _nextWarningAt), Timeout.InfiniteTimeSpan));
            }
        }
    }

    private void WarnPending(long scheduled)
    {
        lock (_warning)
        {
            // A timer's callback can run after its timer was disposed (System.Threading.Timer queues it to the thread
            // pool): a refusal may have warned in its stead and a later one scheduled the next minute's timer, which
            // this callback must not take for its own, or it warned again within the minute.
            if (_disposed || _pendingWarning is null || scheduled != _pendingWarnings)
            {
                return;
            }

            _pendingWarning.Dispose();
            Volatile.Write(ref _pendingWarning, null);
            Warn(_pendingLogger!, _time.GetTimestamp());
        }
    }

    // Under the lock: the refusals since the last warning, if any, and no other warning for a minute.
    private void Warn(ILogger logger, long now)
    {
        var refused = Refused;
        var count = refused - _refusedWhenWarned;
        if (count == 0)
        {
            return;
        }

        _refusedWhenWarned = refused;
        Volatile.Write(ref _nextWarningAt, now + (long)(WarningInterval.TotalSeconds * _time.TimestampFrequency));
        Refusing(logger, count, maxConnections);
    }

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Closed {Count} new connection(s) on the gRPC port since the last such warning: {MaxConnections} were open (MaxConnections); at most one such warning a minute")]
    private static partial void Refusing(ILogger logger, long count, int maxConnections);
}
