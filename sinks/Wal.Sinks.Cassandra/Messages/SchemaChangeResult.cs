namespace Wal.Sinks.Cassandra.Messages;

/// <summary>
/// RESULT Schema_change (spec 4.2.5.5): CREATED/UPDATED/DROPPED, the target kind (KEYSPACE, TABLE,
/// TYPE, FUNCTION, AGGREGATE), and the names it concerns.
/// </summary>
public sealed record SchemaChangeResult(string ChangeType, string Target, string Keyspace, string? Name) : CqlResponse;
