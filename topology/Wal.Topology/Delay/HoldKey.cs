using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Wal.Schemas.V1;

namespace Wal.Topology.Delay;

/// <summary>
/// Keys of the timer store for entries that must reach their target in order: a Kafka target's record key. While one
/// entry of such a key waits out a retry, the key's hold (<c>0xFE</c>, then a digest of cluster, topic and record key)
/// names it, and later entries of the key wait under the hold's key followed by a big-endian sequence number, in the
/// order they came due.
/// </summary>
/// <remarks>
/// The digest keeps the keys small whatever the record key's size, and lets a hold and its waiting entries be found
/// without a scan. <c>0xFE</c> is above every due key's first byte (a due time is not negative, so below <c>0x80</c>)
/// and below a chain marker's (<c>0xFF</c>): no scan for due timers reaches one, and a marker is never taken for one.
/// Only a Kafka target keeps per-key order on its own side: memcached and Cassandra keep the newest version whatever
/// order writes arrive in, and an upstream application or a Kafka record without a key has no key to order by.
/// </remarks>
public static class HoldKey
{
    private const byte Prefix = 0xFE;
    private const int DigestBytes = 32;

    /// <summary>The hold key of <paramref name="entry"/>'s record key, or null when its target keeps no per-key order.</summary>
    public static byte[]? Of(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Target?.DestinationCase != Target.DestinationOneofCase.Kafka || entry.Target.Kafka.Key.IsEmpty)
        {
            return null;
        }

        var kafka = entry.Target.Kafka;
        // Lengths first, so that no two (cluster, topic, key) triples give the same bytes to hash.
        var cluster = Encoding.UTF8.GetBytes(kafka.Cluster);
        var topic = Encoding.UTF8.GetBytes(kafka.Topic);
        var named = new byte[(2 * sizeof(int)) + cluster.Length + topic.Length + kafka.Key.Length];
        BinaryPrimitives.WriteInt32BigEndian(named, cluster.Length);
        cluster.CopyTo(named, sizeof(int));
        BinaryPrimitives.WriteInt32BigEndian(named.AsSpan(sizeof(int) + cluster.Length), topic.Length);
        topic.CopyTo(named, (2 * sizeof(int)) + cluster.Length);
        kafka.Key.Span.CopyTo(named.AsSpan((2 * sizeof(int)) + cluster.Length + topic.Length));

        var key = new byte[1 + DigestBytes];
        key[0] = Prefix;
        SHA256.HashData(named, key.AsSpan(1));
        return key;
    }

    /// <summary>The key of the entry waiting at <paramref name="sequence"/> behind <paramref name="holdKey"/>.</summary>
    public static byte[] Waiting(byte[] holdKey, long sequence)
    {
        ArgumentNullException.ThrowIfNull(holdKey);
        var key = new byte[holdKey.Length + sizeof(long)];
        holdKey.CopyTo(key, 0);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(holdKey.Length), sequence);
        return key;
    }

    /// <summary>The hold key that <paramref name="waitingKey"/>, a key <see cref="Waiting"/> gave, waits behind.</summary>
    public static byte[] HoldOf(ReadOnlySpan<byte> waitingKey) => waitingKey[..(1 + DigestBytes)].ToArray();

    /// <summary>The sequence number of <paramref name="waitingKey"/>, a key <see cref="Waiting"/> gave.</summary>
    public static long Sequence(ReadOnlySpan<byte> waitingKey) => BinaryPrimitives.ReadInt64BigEndian(waitingKey[(1 + DigestBytes)..]);

    /// <summary>Whether <paramref name="key"/> of the timer store is a key's hold.</summary>
    public static bool IsHold(ReadOnlySpan<byte> key) => key.Length == 1 + DigestBytes && key[0] == Prefix;

    /// <summary>Whether <paramref name="key"/> of the timer store is an entry waiting behind a hold.</summary>
    public static bool IsWaiting(ReadOnlySpan<byte> key) => key.Length == 1 + DigestBytes + sizeof(long) && key[0] == Prefix;
}
