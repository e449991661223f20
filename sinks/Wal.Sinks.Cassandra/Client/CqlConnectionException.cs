using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>
/// The connection could not be opened, or was lost with the request in flight. Whether the server
/// applied the request is unknown; Wal's writes are idempotent, so a retry is always allowed.
/// </summary>
public sealed class CqlConnectionException : CqlException
{
    public CqlConnectionException(string message, Exception? innerException = null)
        : base(message, isRetriable: true, innerException)
    {
    }
}
