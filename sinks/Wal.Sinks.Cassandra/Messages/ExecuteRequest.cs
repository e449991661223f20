using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>EXECUTE (spec 4.1.6): the prepared id as [short bytes], then the query parameters.</summary>
public sealed record ExecuteRequest(ReadOnlyMemory<byte> PreparedId, CqlQueryParameters Parameters) : CqlRequest
{
    public override CqlOpcode Opcode => CqlOpcode.Execute;

    public override void WriteBody(CqlWriter writer)
    {
        writer.WriteShortBytes(PreparedId.Span);
        Parameters.WriteTo(writer);
    }
}
