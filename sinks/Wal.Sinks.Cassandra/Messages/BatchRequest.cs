using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>
/// BATCH (spec 4.1.7): &lt;type&gt;&lt;n&gt;&lt;query_1..n&gt;&lt;consistency&gt;&lt;flags&gt;[serial consistency][timestamp].
/// Named values (flag 0x40) are not offered: the spec itself says they cannot work.
/// </summary>
public sealed record BatchRequest(CqlBatchType Type, IReadOnlyList<CqlBatchStatement> Statements, CqlConsistency Consistency) : CqlRequest
{
    private const byte SerialConsistencyFlag = 0x10;
    private const byte DefaultTimestampFlag = 0x20;

    public CqlConsistency? SerialConsistency { get; init; }

    /// <summary>Default write timestamp in microseconds for every statement without its own.</summary>
    public long? DefaultTimestamp { get; init; }

    public override CqlOpcode Opcode => CqlOpcode.Batch;

    public override void WriteBody(CqlWriter writer)
    {
        writer.WriteByte((byte)Type);
        writer.WriteShort(checked((ushort)Statements.Count));
        foreach (var statement in Statements)
        {
            statement.WriteTo(writer);
        }

        writer.WriteConsistency(Consistency);
        writer.WriteByte((byte)((SerialConsistency.HasValue ? SerialConsistencyFlag : 0) | (DefaultTimestamp.HasValue ? DefaultTimestampFlag : 0)));
        if (SerialConsistency is { } serial)
        {
            writer.WriteConsistency(serial);
        }

        if (DefaultTimestamp is { } timestamp)
        {
            writer.WriteLong(timestamp);
        }
    }
}
