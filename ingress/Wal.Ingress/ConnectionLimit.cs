using Microsoft.AspNetCore.Connections;

namespace Wal.Ingress;

/// <summary>
/// Bounds the open connections on the gRPC port: one over the bound is closed as it arrives,
/// before TLS or HTTP/2 spend anything on it. Kestrel's own limit counts every endpoint, so a
/// flood of callers would also shut out the probes on the admin port.
/// </summary>
public sealed class ConnectionLimit(int maxConnections)
{
    private long _open;
    private long _refused;

    /// <summary>Connections open on the gRPC port now.</summary>
    public long Open => Interlocked.Read(ref _open);

    /// <summary>Connections closed on arrival because the bound was full, since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The connection middleware that applies the bound; add it before TLS.</summary>
    public ConnectionDelegate Apply(ConnectionDelegate next) => async connection =>
    {
        if (!BoundedCounter.TryAdd(ref _open, 1, maxConnections))
        {
            Interlocked.Increment(ref _refused);
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
}
