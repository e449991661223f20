using Confluent.Kafka;

namespace Wal.Streams.TestDriver;

/// <summary>A record a topology wrote, as bytes, waiting to be read by a <see cref="TestOutputTopic{TKey, TValue}"/>.</summary>
internal sealed record ProducedRecord(byte[]? Key, byte[]? Value, Headers Headers, long Timestamp, int? Partition);
