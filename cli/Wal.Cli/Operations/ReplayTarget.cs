using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>
/// Where <c>wal replay --target</c> sends entries instead of their own target:
/// <c>memcached:CLUSTER</c>, <c>cassandra:CLUSTER[/KEYSPACE.TABLE]</c>, <c>kafka:CLUSTER[/TOPIC]</c>.
/// Only the cluster (and optionally the table or topic) changes; the rest of the entry's own
/// target (the cache key, TTL, delete flag, the record key) stays, so an entry can only be
/// retargeted to a target of its own kind.
/// </summary>
internal sealed record ReplayTarget(Target.DestinationOneofCase Kind, string Cluster, string? Keyspace, string? Table, string? Topic)
{
    public string Text => Kind switch
    {
        Target.DestinationOneofCase.Cassandra when Table is not null => $"cassandra:{Cluster}/{Keyspace}.{Table}",
        Target.DestinationOneofCase.Kafka when Topic is not null => $"kafka:{Cluster}/{Topic}",
        _ => $"{KindName(Kind)}:{Cluster}",
    };

    /// <summary>Null with <paramref name="error"/> set when <paramref name="text"/> is not a target.</summary>
    public static ReplayTarget? Parse(string text, out string? error)
    {
        error = null;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon > 0 ? text[..colon] : string.Empty;
        var rest = colon > 0 ? text[(colon + 1)..] : string.Empty;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var cluster = slash >= 0 ? rest[..slash] : rest;
        var detail = slash >= 0 ? rest[(slash + 1)..] : null;
        var parsed = (kind, cluster.Length > 0) switch
        {
            ("memcached", true) when detail is null => new ReplayTarget(Target.DestinationOneofCase.Memcached, cluster, null, null, null),
            ("cassandra", true) when detail is null => new ReplayTarget(Target.DestinationOneofCase.Cassandra, cluster, null, null, null),
            ("cassandra", true) when detail.Split('.') is [{ Length: > 0 } keyspace, { Length: > 0 } table] =>
                new ReplayTarget(Target.DestinationOneofCase.Cassandra, cluster, keyspace, table, null),
            ("kafka", true) when detail is null || detail.Length > 0 => new ReplayTarget(Target.DestinationOneofCase.Kafka, cluster, null, null, detail),
            _ => null,
        };
        if (parsed is null)
        {
            error = $"--target '{text}' is not one of memcached:CLUSTER, cassandra:CLUSTER[/KEYSPACE.TABLE], kafka:CLUSTER[/TOPIC] (e.g. memcached:local).";
        }

        return parsed;
    }

    /// <summary>The entry aimed at this target, or null when its own target is of another kind (or it has none).</summary>
    public LogEntry? Apply(LogEntry entry)
    {
        if (entry.Target is null || entry.Target.DestinationCase != Kind || entry.BodyCase != LogEntry.BodyOneofCase.None)
        {
            return null;
        }

        var retargeted = entry.Clone();
        switch (Kind)
        {
            case Target.DestinationOneofCase.Memcached:
                retargeted.Target.Memcached.Cluster = Cluster;
                break;
            case Target.DestinationOneofCase.Cassandra:
                retargeted.Target.Cassandra.Cluster = Cluster;
                retargeted.Target.Cassandra.Keyspace = Keyspace ?? retargeted.Target.Cassandra.Keyspace;
                retargeted.Target.Cassandra.Table = Table ?? retargeted.Target.Cassandra.Table;
                break;
            default:
                retargeted.Target.Kafka.Cluster = Cluster;
                retargeted.Target.Kafka.Topic = Topic ?? retargeted.Target.Kafka.Topic;
                break;
        }

        return retargeted;
    }

    private static string KindName(Target.DestinationOneofCase kind) => kind.ToString().ToLowerInvariant();
}
