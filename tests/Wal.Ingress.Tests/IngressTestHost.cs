using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>An embedded Kafka cluster with the test namespaces' topics, and an ingress on free ports in front of it.</summary>
public sealed class IngressTestHost : IAsyncDisposable
{
    private IngressTestHost(EmbeddedKafkaCluster kafka, NamespaceRegistry registry, WebApplication app)
    {
        Kafka = kafka;
        Registry = registry;
        App = app;
    }

    public EmbeddedKafkaCluster Kafka { get; }

    public NamespaceRegistry Registry { get; }

    public WebApplication App { get; }

    public Uri Address => App.GetGrpcAddress();

    /// <param name="brokers">Brokers in the mock cluster.</param>
    /// <param name="configure">Changes to the ingress options.</param>
    /// <param name="beforeStart">Runs on the cluster before the ingress starts, for faults its producer must meet from the first request.</param>
    /// <param name="logs">Receives the ingress's warnings and errors, for tests that read them.</param>
    public static async Task<IngressTestHost> StartAsync(int brokers = 3, Action<IngressOptions>? configure = null, Action<EmbeddedKafkaCluster>? beforeStart = null, ILoggerProvider? logs = null)
    {
        var kafka = EmbeddedKafkaCluster.Start(brokers);
        var registry = TestNamespaces.Registry();
        foreach (var ns in registry.All)
        {
            kafka.CreateTopic(ns.Topic, partitions: 3, replicationFactor: Math.Min(brokers, 3));
        }

        var options = new IngressOptions { Port = 0, AdminPort = 0, BootstrapServers = kafka.BootstrapServers, Region = "test-region" };
        configure?.Invoke(options);
        beforeStart?.Invoke(kafka);
        var app = IngressHost.Build(options, registry, b =>
        {
            b.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
            if (logs is not null)
            {
                b.Logging.AddProvider(logs);
            }
        });
        await app.StartAsync();
        return new IngressTestHost(kafka, registry, app);
    }

    public string TopicOf(string @namespace) => Registry.TryGet(@namespace, out var config) ? config.Topic : throw new ArgumentException(@namespace);

    /// <summary>Records in the topic: the sum of its partitions' high watermarks, once the ingress has nothing left to send.</summary>
    public long CountRecords(string topic)
    {
        Settle();
        using var consumer = NewConsumer();
        var partitions = Enumerable.Range(0, 3);
        return partitions.Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>Every LogEntry in the topic with its partition and offset, read from the beginning until the end is reached.</summary>
    public IReadOnlyList<(int Partition, byte[] Key, LogEntry Entry, long Offset)> ReadAll(string topic)
    {
        Settle();
        using var consumer = NewConsumer();
        var ends = Enumerable.Range(0, 3).ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<(int, byte[], LogEntry, long)>();
        var positions = ends.Keys.ToDictionary(p => p, _ => 0L);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (positions.Any(p => p.Value < ends[p.Key]) && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is null || record.IsPartitionEOF)
            {
                continue;
            }

            records.Add((record.Partition.Value, record.Message.Key, LogEntry.Parser.ParseFrom(record.Message.Value), record.Offset.Value));
            positions[record.Partition.Value] = record.Offset.Value + 1;
        }

        Assert.True(positions.All(p => p.Value >= ends[p.Key]), $"could not read {topic} to its end within the deadline");
        return records;
    }

    /// <summary>
    /// Waits until every record the ingress handed to its producer has Kafka's answer, so a check
    /// that something was not written cannot pass because it was still on its way.
    /// </summary>
    public void Settle()
    {
        var waiting = App.Services.GetRequiredService<KafkaLogProducer>().Flush(TimeSpan.FromSeconds(20));
        Assert.True(waiting == 0, $"{waiting} records still awaited Kafka's answer after 20 s");
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Kafka.Dispose();
    }

    private IConsumer<byte[], byte[]> NewConsumer() => new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
    {
        BootstrapServers = Kafka.BootstrapServers,
        GroupId = "test-reader",
        EnableAutoCommit = false,
        IsolationLevel = IsolationLevel.ReadUncommitted,
    }).Build();

    public static byte[] Bytes(IMessage message) => message.ToByteArray();
}
