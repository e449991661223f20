using System.Buffers;
using System.Text;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>
/// What a <see cref="Target"/> must hold for its sink to deliver to it: one rule for a request's target (the ingress
/// refuses a write breaking it) and a namespace's <c>default_target</c> (refused with the definition), each error
/// naming the field. Whether a Kafka target's topic is Wal's own depends on the namespaces at write time: see
/// <see cref="ReservedTopics"/>.
/// </summary>
public static class TargetRules
{
    /// <summary>The longest memcached key, in UTF-8 bytes: memcached's own limit.</summary>
    public const int MaxMemcachedKeyBytes = 250;

    // U+FFFD too: protobuf reads every byte of a key that is not UTF-8 as U+FFFD, so two different keys sent as
    // bytes would arrive as one and write the same item. And the C1 controls (U+0080 to U+009F), which the memcached
    // sink refuses as it does every control character: taken here, such a write was TRUE and then dead-lettered.
    private static readonly SearchValues<char> KeyForbidden =
        SearchValues.Create([.. Enumerable.Range(0, 33).Select(i => (char)i), (char)127, .. Enumerable.Range(0x80, 0x20).Select(i => (char)i), '\uFFFD']);

    /// <summary>The first problem with a request's target, or null.</summary>
    public static string? ForRequest(Target target) => Problem(target, "target", keyRequired: true);

    /// <summary>
    /// The first problem with a namespace's default target, or null. Its memcached key may be empty: a multi-table
    /// mutation's chunks name their own keys, and a write falling back on a keyless default is refused as a request.
    /// </summary>
    public static string? ForDefault(Target target) => Problem(target, "default_target", keyRequired: false);

    private static string? Problem(Target target, string field, bool keyRequired)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.DestinationCase switch
        {
            Target.DestinationOneofCase.Memcached => Memcached(target.Memcached, $"{field}.memcached", keyRequired),
            Target.DestinationOneofCase.Cassandra => target.Cassandra.Keyspace.Length == 0 || target.Cassandra.Table.Length == 0
                ? $"{field}.cassandra: keyspace and table must be set"
                : null,
            Target.DestinationOneofCase.Kafka => target.Kafka.Topic.Length == 0 ? $"{field}.kafka.topic: must be set"
                : target.Kafka.Delete && target.Kafka.Key.IsEmpty ? $"{field}.kafka.key: a delete needs the key whose tombstone it writes"
                : null,
            Target.DestinationOneofCase.Upstream => UpstreamTargetRules.Problem(target.Upstream, $"{field}.upstream"),
            _ => $"{field}: names no destination (memcached, cassandra, kafka or upstream)",
        };
    }

    private static string? Memcached(MemcachedTarget target, string field, bool keyRequired)
    {
        // The sink looks the cluster up by name: an empty one reaches no server, and every delivery would fail.
        if (target.Cluster.Length == 0)
        {
            return $"{field}.cluster: must name a memcached cluster";
        }

        if ((keyRequired || target.Key.Length > 0) && !IsValidKey(target.Key))
        {
            return $"{field}.key: must be 1 to {MaxMemcachedKeyBytes} bytes of UTF-8 without whitespace, control characters or U+FFFD";
        }

        if (target.Ttl is { } ttl && !DurationRules.IsValidNonNegative(ttl))
        {
            return $"{field}.ttl: must be a valid, non-negative duration";
        }

        return null;
    }

    private static bool IsValidKey(string key) =>
        key.Length > 0 && Encoding.UTF8.GetByteCount(key) <= MaxMemcachedKeyBytes && !key.AsSpan().ContainsAny(KeyForbidden);
}
