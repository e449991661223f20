using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>Helpers for tests against the embedded (mock) cluster: configs, producing, reading outputs, waiting with deadlines.</summary>
internal static class KafkaTestKit
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    public static StreamsConfig Config(EmbeddedKafkaCluster cluster, string applicationId) => new()
    {
        ApplicationId = applicationId,
        BootstrapServers = cluster.BootstrapServers,
        StateDirectory = Path.Combine(Path.GetTempPath(), "wal-streams-tests", Guid.NewGuid().ToString("N")),
        CommitInterval = TimeSpan.FromMilliseconds(200),
        SessionTimeout = TimeSpan.FromSeconds(6),
        HeartbeatInterval = TimeSpan.FromSeconds(1),
        MaxPollInterval = TimeSpan.FromSeconds(30),
    };

    public static async Task ProduceAsync(EmbeddedKafkaCluster cluster, string topic, IEnumerable<(string Key, string Value)> records)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = 5,
        }).Build();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        foreach (var (key, value) in records)
        {
            producer.Produce(topic, new Message<string, string> { Key = key, Value = value }, report =>
            {
                if (report.Error.IsError)
                {
                    failures.Enqueue($"{report.Key}: {report.Error}");
                }
            });
        }

        // A test's input that never arrived would let every check of what the topology did not do pass vacuously.
        var left = await Task.Run(() => producer.Flush(Deadline));
        if (left > 0 || !failures.IsEmpty)
        {
            throw new InvalidOperationException($"producing the test's input to '{topic}' failed: {left} records unsent after {Deadline}, {failures.Count} refused ({string.Join("; ", failures.Take(3))})");
        }
    }

    /// <summary>Reads <paramref name="topic"/> from the beginning until <paramref name="done"/> holds for what was read, or the deadline.</summary>
    public static async Task<List<ConsumeResult<TKey, TValue>>> ReadUntilAsync<TKey, TValue>(
        EmbeddedKafkaCluster cluster,
        string topic,
        IDeserializer<TKey> keys,
        IDeserializer<TValue> values,
        Func<IReadOnlyList<ConsumeResult<TKey, TValue>>, bool> done,
        TimeSpan? deadline = null,
        IsolationLevel isolation = IsolationLevel.ReadUncommitted)
    {
        return await Task.Run(() =>
        {
            using var consumer = new ConsumerBuilder<TKey, TValue>(new ConsumerConfig
            {
                BootstrapServers = cluster.BootstrapServers,
                GroupId = "reader-" + Guid.NewGuid().ToString("N"),
                AutoOffsetReset = AutoOffsetReset.Earliest,
                EnableAutoCommit = false,
                IsolationLevel = isolation,
            }).SetKeyDeserializer(keys).SetValueDeserializer(values).Build();
            // Assigned, not subscribed: no group join, so reading starts at once.
            consumer.Assign(Partitions(cluster, topic).Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
            var read = new List<ConsumeResult<TKey, TValue>>();
            var until = DateTime.UtcNow + (deadline ?? Deadline);
            while (!done(read) && DateTime.UtcNow < until)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record is not null)
                {
                    read.Add(record);
                }
            }

            consumer.Close();
            return read;
        });
    }

    public static IEnumerable<TopicPartition> Partitions(EmbeddedKafkaCluster cluster, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single();
        return metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
    }

    public static Task WaitForAsync(Func<bool> condition, string what, TimeSpan? deadline = null) =>
        Eventually.WaitUntilAsync(condition, deadline ?? Deadline, what);

    public static long CommittedOffsetSum(EmbeddedKafkaCluster cluster, string groupId, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = groupId }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        return committed.Sum(c => c.Offset.Value < 0 ? 0 : c.Offset.Value);
    }
}
