using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Errors;

/// <summary>The server answered with an ERROR; <see cref="CqlException.IsRetriable"/> follows <see cref="CqlError.IsRetriable"/>.</summary>
public sealed class CqlServerErrorException : CqlException
{
    public CqlServerErrorException(CqlError error)
        : base(error.ToString(), error.IsRetriable)
    {
        Error = error;
    }

    public CqlError Error { get; }
}
