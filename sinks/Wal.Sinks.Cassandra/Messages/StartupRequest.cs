using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>STARTUP (spec 4.1.1): a [string map] of options; CQL_VERSION is mandatory.</summary>
public sealed record StartupRequest(IReadOnlyList<KeyValuePair<string, string>> Options) : CqlRequest
{
    /// <summary>The only CQL version the spec defines.</summary>
    public const string CqlVersion = "3.0.0";

    /// <summary>STARTUP with CQL_VERSION 3.0.0 and no compression.</summary>
    public static StartupRequest Default { get; } = new([new("CQL_VERSION", CqlVersion)]);

    public override CqlOpcode Opcode => CqlOpcode.Startup;

    public override void WriteBody(CqlWriter writer) => writer.WriteStringMap(Options);
}
