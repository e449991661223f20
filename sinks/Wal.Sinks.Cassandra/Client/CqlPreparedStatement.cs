using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>A statement prepared on the cluster: its text (to prepare it again), its id and its bind markers.</summary>
public sealed record CqlPreparedStatement(string Query, ReadOnlyMemory<byte> Id, CqlPreparedMetadata Metadata);
