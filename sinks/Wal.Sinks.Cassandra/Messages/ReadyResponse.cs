namespace Wal.Sinks.Cassandra.Messages;

/// <summary>READY (spec 4.2.2): the connection accepts queries.</summary>
public sealed record ReadyResponse : CqlResponse;
