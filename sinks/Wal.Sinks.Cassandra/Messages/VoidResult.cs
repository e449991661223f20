namespace Wal.Sinks.Cassandra.Messages;

/// <summary>RESULT Void (spec 4.2.5.1): done, nothing to return.</summary>
public sealed record VoidResult : CqlResponse;
