using System.Text;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// The Kafka key of a record. Records with one key land in one partition and keep their order,
/// so the key is what must stay ordered: the cache key, the Kafka record key, the mutation.
/// </summary>
public static class PartitionKey
{
    /// <summary>A plain write: ordered per target key where the target has one, else spread by id.</summary>
    public static byte[] ForWrite(Target target, string id) => target.DestinationCase switch
    {
        // Writes to one cache key must apply in order, or an older value could win.
        Target.DestinationOneofCase.Memcached => Encoding.UTF8.GetBytes($"memcached/{target.Memcached.Cluster}/{target.Memcached.Key}"),
        Target.DestinationOneofCase.Kafka when !target.Kafka.Key.IsEmpty =>
            [.. Encoding.UTF8.GetBytes($"kafka/{target.Kafka.Cluster}/{target.Kafka.Topic}/"), .. target.Kafka.Key.Span],
        // No row or resource key is visible here: spread by id; sinks order by version instead.
        _ => Encoding.UTF8.GetBytes(id),
    };

    /// <summary>Chunks and the completion marker of one mutation share a partition, so one task sees them all.</summary>
    public static byte[] ForMutation(string requestId) => Encoding.UTF8.GetBytes(requestId);
}
