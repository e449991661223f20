using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>RESULT Rows (spec 4.2.5.2).</summary>
public sealed record RowsResult(CqlRowsMetadata Metadata, IReadOnlyList<CqlRow> Rows) : CqlResponse;
