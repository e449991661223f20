using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>RESULT Prepared (spec 4.2.5.4): the id to EXECUTE, the bind markers, the result columns.</summary>
public sealed record PreparedResult(ReadOnlyMemory<byte> Id, CqlPreparedMetadata Metadata, CqlRowsMetadata ResultMetadata) : CqlResponse;
