using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>
/// The node answered STARTUP in another protocol version: it does not speak v4 (Cassandra before
/// 2.2 speaks at most v3). Every connection to it gets the same answer, so only configuration (the
/// contact points) or an upgrade can help; a retry cannot.
/// </summary>
public sealed class CqlProtocolVersionException : CqlException
{
    public CqlProtocolVersionException(string message)
        : base(message, isRetriable: false)
    {
    }
}
