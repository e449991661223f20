using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Sinks;
using Wal.Streams;

namespace Wal.Topology.Tests;

/// <summary>
/// The real runtime for a test: a <see cref="WalTopologyHost"/> over its own one-broker mock cluster and state directory,
/// disposed together, and a reader for the dead letters it writes.
/// </summary>
internal sealed class MockClusterTopology : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-topology-{Guid.NewGuid():N}");

    public MockClusterTopology(string applicationId, INamespaceRegistry registry, ISink sink, WalTopologyOptions options)
    {
        Kafka = EmbeddedKafkaCluster.Start(1);
        Host = new WalTopologyHost(
            registry,
            sink,
            options,
            new StreamsConfig { ApplicationId = applicationId, BootstrapServers = Kafka.BootstrapServers, StateDirectory = _stateDirectory },
            Kafka);
    }

    public EmbeddedKafkaCluster Kafka { get; }

    public WalTopologyHost Host { get; }

    /// <summary>What the streams are doing, for failure messages.</summary>
    public string StreamsState => $"streams {Host.Streams.State}: {Host.Streams.FatalError?.GetBaseException().Message}";

    /// <summary>Reads <paramref name="topic"/> from its start until <paramref name="count"/> records came, or fails at the deadline.</summary>
    public List<ConsumeResult<string, byte[]>> ReadDeadLetters(string topic, int count)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            GroupId = $"dlq-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var read = new List<ConsumeResult<string, byte[]>>();
        var deadline = DateTime.UtcNow + Deadline;
        while (read.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } result)
            {
                read.Add(result);
            }
        }

        Assert.True(read.Count == count, $"{read.Count} of {count} dead letters within {Deadline}; {StreamsState}");
        return read;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Kafka.Dispose();
        Directory.Delete(_stateDirectory, recursive: true);
    }
}
