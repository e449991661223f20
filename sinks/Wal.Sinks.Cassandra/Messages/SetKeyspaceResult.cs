namespace Wal.Sinks.Cassandra.Messages;

/// <summary>RESULT Set_keyspace (spec 4.2.5.3): the answer to USE.</summary>
public sealed record SetKeyspaceResult(string Keyspace) : CqlResponse;
