namespace Wal.Sinks.Cassandra;

/// <summary>A payload that is not a row this sink can write: retrying it cannot help.</summary>
public sealed class CassandraPayloadException : Exception
{
    public CassandraPayloadException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
