using Confluent.Kafka;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Topology.Tests;

/// <summary>
/// Writes a log entry straight to a namespace's topic, as the ingress would, aimed at the memcached
/// cluster <c>local</c> under its id: for tests of a running topology that watch its deliveries.
/// Linked into the CLI tests as well.
/// </summary>
internal static class MemcachedLogEntries
{
    public static async Task ProduceAsync(string bootstrapServers, string ns, string id, TimeSpan? delay = null)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers }).Build();
        var entry = new LogEntry
        {
            Id = id,
            Namespace = ns,
            Payload = ByteString.CopyFromUtf8(id),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = id } },
            AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            OriginRegion = "local",
            Lifecycle = delay is { } d ? new Lifecycle { Delay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(d) } : null,
        };
        await producer.ProduceAsync($"wal.{ns}", new Message<string, byte[]> { Key = id, Value = entry.ToByteArray() });
    }
}
