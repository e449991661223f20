namespace Wal.Streams;

/// <summary>A topology is malformed (unknown parent, duplicate name, type mismatch between nodes); raised when it is built.</summary>
public sealed class TopologyException : StreamsException
{
    public TopologyException()
    {
    }

    public TopologyException(string message)
        : base(message)
    {
    }

    public TopologyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
