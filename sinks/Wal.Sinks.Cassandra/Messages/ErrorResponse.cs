using Wal.Sinks.Cassandra.Errors;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>ERROR (spec 4.2.1).</summary>
public sealed record ErrorResponse(CqlError Error) : CqlResponse;
