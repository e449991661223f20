using System.Security.Cryptography;
using Wal.Topology.Delay;
using Wal.Topology.State;

namespace Wal.Cli.Operations;

/// <summary>
/// Deliveries waiting in a namespace's timer store: delayed ones not yet due, failed ones waiting to retry, and those
/// waiting behind a retry of their Kafka record key.
/// </summary>
internal sealed record PendingTimers(long Delayed, long Retrying, long Waiting, long Read)
{
    public long Total => Delayed + Retrying + Waiting;

    /// <summary>
    /// Counts the live keys of a timer store's changelog (<c>{app}-{ns}-timers-changelog</c>) by
    /// reading it to its end and keeping each key's last record: a put is a pending timer, a
    /// tombstone one that fired. Memory holds one 16-byte key hash per live timer, not the records.
    /// It is the store as of the topology's last commit, which is what a restart would restore.
    /// </summary>
    public static PendingTimers Count(string bootstrapServers, string changelogTopic, Progress? progress, CancellationToken cancellationToken)
    {
        var partitions = KafkaTopics.Partitions(bootstrapServers, changelogTopic);
        using var consumer = KafkaTopics.Consumer(bootstrapServers, $"wal-status-{Guid.NewGuid():N}");
        var starts = partitions.ToDictionary(p => p, p => KafkaTopics.Watermarks(consumer, p).Low.Value);
        var ends = KafkaTopics.Ends(consumer, partitions);
        if (progress is not null)
        {
            progress.Total += partitions.Sum(p => ends[p] - starts[p]);
        }

        // Keys are unique per partition (the store is partitioned like the log), so the partition
        // goes into the hash too: a key can only be live in one of them, but keep them apart anyway.
        var live = new Dictionary<UInt128, Kind>();
        long read = 0;
        Span<byte> hash = stackalloc byte[32];
        foreach (var record in KafkaTopics.Scan(consumer, starts, ends, cancellationToken))
        {
            read++;
            var key = record.Message.Key ?? [];
            if (ChainKey.IsMarker(key) || HoldKey.IsHold(key))
            {
                // A retry chain's marker names one of the timers, and a key's hold the entry its waiting ones wait for.
                progress?.Advance();
                continue;
            }

            var salted = new byte[key.Length + sizeof(int)];
            BitConverter.TryWriteBytes(salted, record.Partition.Value);
            key.CopyTo(salted, sizeof(int));
            SHA256.HashData(salted, hash);
            var id = new UInt128(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..]));
            if (record.Message.Value is null)
            {
                live.Remove(id);
            }
            else
            {
                live[id] = HoldKey.IsWaiting(key) ? Kind.Waiting : IsRetry(record.Message.Value) ? Kind.Retrying : Kind.Delayed;
            }

            progress?.Advance();
        }

        return new PendingTimers(
            live.Values.LongCount(k => k == Kind.Delayed), live.Values.LongCount(k => k == Kind.Retrying), live.Values.LongCount(k => k == Kind.Waiting), read);
    }

    private enum Kind
    {
        Delayed,
        Retrying,
        Waiting,
    }

    private static bool IsRetry(byte[] value)
    {
        try
        {
            return PendingDelivery.Parser.ParseFrom(value).Attempts > 0;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }
}
