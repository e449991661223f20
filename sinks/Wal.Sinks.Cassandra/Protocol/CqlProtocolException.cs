namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>
/// A frame that breaks the protocol: truncated, oversized, of the wrong version once the node has
/// answered in v4 (before that, see <c>CqlProtocolVersionException</c>), or carrying a value that
/// cannot be what its notation says. The connection it came from cannot be trusted
/// any more; a new one may do better, so the request is retriable.
/// </summary>
public sealed class CqlProtocolException : CqlException
{
    public CqlProtocolException(string message)
        : base(message, isRetriable: true)
    {
    }
}
