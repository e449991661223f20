namespace Wal.Streams;

/// <summary>Where the record being processed came from. Absent while a punctuator runs.</summary>
public sealed record RecordMetadata(string Topic, int Partition, long Offset);
