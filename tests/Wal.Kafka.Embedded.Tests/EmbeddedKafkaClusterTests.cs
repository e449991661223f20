using Confluent.Kafka;

namespace Wal.Kafka.Embedded.Tests;

public sealed class EmbeddedKafkaClusterTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public void Start_ThreeBrokers_ReportsThreeBootstrapAddresses()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 3);

        var addresses = cluster.BootstrapServers.Split(',');
        Assert.Equal(3, addresses.Length);
        Assert.All(addresses, a => Assert.StartsWith("127.0.0.1:", a, StringComparison.Ordinal));
    }

    [Fact]
    public void CreateTopic_WithPartitions_MetadataShowsThem()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 2);
        cluster.CreateTopic("orders", partitions: 6, replicationFactor: 2);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var topic = admin.GetMetadata("orders", Deadline).Topics.Single();

        Assert.Equal(ErrorCode.NoError, topic.Error.Code);
        Assert.Equal(6, topic.Partitions.Count);
        Assert.All(topic.Partitions, p => Assert.Equal(2, p.Replicas.Length));
    }

    [Fact]
    public async Task ProduceAndConsume_IdempotentAcksAll_RoundTripsRecords()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("events", partitions: 3);

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
        }).Build();
        for (var i = 0; i < 30; i++)
        {
            var result = await producer.ProduceAsync("events", new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "readers",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("events");
        var seen = new HashSet<string>();
        var until = DateTime.UtcNow + Deadline;
        while (seen.Count < 30 && DateTime.UtcNow < until)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is not null)
            {
                seen.Add(record.Message.Value);
            }
        }

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"v{i}").ToHashSet(), seen);
    }

    [Fact]
    public async Task PushRequestErrors_OnProduce_ProducerSeesTheError()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("faulty");
        // 10 = MSG_SIZE_TOO_LARGE: not retriable, so the producer reports it at once.
        cluster.PushRequestErrors(KafkaApi.Produce, 10);

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var error = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync("faulty", new Message<Null, string> { Value = "x" }));

        Assert.Equal(ErrorCode.MsgSizeTooLarge, error.Error.Code);
    }

    [Fact]
    public void SetBrokerDown_UnknownBroker_Throws()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);

        Assert.Throws<InvalidOperationException>(() => cluster.SetBrokerDown(42));
    }

    [Fact]
    public void CreateTopic_AfterDispose_Throws()
    {
        var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late"));
    }
}
