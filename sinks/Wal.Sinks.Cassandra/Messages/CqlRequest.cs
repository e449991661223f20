using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>A message the client sends (spec section 4.1).</summary>
public abstract record CqlRequest
{
    public abstract CqlOpcode Opcode { get; }

    /// <summary>Writes the frame body (everything after the 9-byte header).</summary>
    public abstract void WriteBody(CqlWriter writer);
}
