using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>QUERY (spec 4.1.4): a [long string] query, then the query parameters.</summary>
public sealed record QueryRequest(string Query, CqlQueryParameters Parameters) : CqlRequest
{
    public override CqlOpcode Opcode => CqlOpcode.Query;

    public override void WriteBody(CqlWriter writer)
    {
        writer.WriteLongString(Query);
        Parameters.WriteTo(writer);
    }
}
