namespace Wal.Sinks.Cassandra.Messages;

/// <summary>EVENT (spec 4.2.6), on stream -1: only its type is decoded; this client registers for none.</summary>
public sealed record EventResponse(string EventType) : CqlResponse;
