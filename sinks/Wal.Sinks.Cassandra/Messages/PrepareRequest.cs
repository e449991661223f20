using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>PREPARE (spec 4.1.5): the query as a [long string].</summary>
public sealed record PrepareRequest(string Query) : CqlRequest
{
    public override CqlOpcode Opcode => CqlOpcode.Prepare;

    public override void WriteBody(CqlWriter writer) => writer.WriteLongString(Query);
}
