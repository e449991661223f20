namespace Wal.Streams;

/// <summary>Chooses the partition a sink writes a record to (default: the producer's murmur2 partitioning of the key bytes, as Java clients).</summary>
public interface IStreamPartitioner<in TKey, in TValue>
{
    /// <summary>A partition in [0, <paramref name="partitionCount"/>); any other answer fails the record with a <see cref="StreamsException"/>.</summary>
    int Partition(string topic, TKey key, TValue value, int partitionCount);
}
