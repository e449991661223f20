using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>No response came within the request timeout. The outcome is unknown; retriable for idempotent requests.</summary>
public sealed class CqlRequestTimeoutException : CqlException
{
    public CqlRequestTimeoutException(string message)
        : base(message, isRetriable: true)
    {
    }
}
