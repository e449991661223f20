using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>OPTIONS (spec 4.1.3): empty body; the server answers SUPPORTED.</summary>
public sealed record OptionsRequest : CqlRequest
{
    public static OptionsRequest Instance { get; } = new();

    public override CqlOpcode Opcode => CqlOpcode.Options;

    public override void WriteBody(CqlWriter writer)
    {
    }
}
