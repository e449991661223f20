namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>A request whose body exceeds the protocol's 256 MB frame limit; the same request can never fit.</summary>
public sealed class CqlRequestTooLargeException : CqlException
{
    public CqlRequestTooLargeException(string message)
        : base(message, isRetriable: false)
    {
    }
}
