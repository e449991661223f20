namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>
/// Base of every failure the CQL client reports. <see cref="IsRetriable"/> says whether sending
/// the same (idempotent) request again, on this or another connection, can succeed.
/// </summary>
public abstract class CqlException : Exception
{
    protected CqlException(string message, bool isRetriable, Exception? innerException = null)
        : base(message, innerException)
    {
        IsRetriable = isRetriable;
    }

    /// <summary>True when a retry of the same idempotent request may succeed.</summary>
    public bool IsRetriable { get; }
}
