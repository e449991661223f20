using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Hosting;

/// <summary>The check before a namespace is published: its log and store changelogs must have the count it names.</summary>
public sealed class NamespacePreparationTests : IDisposable
{
    private const string ApplicationId = "wal-topology";
    // Kafka's LEADER_NOT_AVAILABLE, as a topic being created or moved answers metadata requests.
    private const int LeaderNotAvailable = 5;

    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public async Task PrepareAsync_LogWithAnotherCountReadWithATopicError_ThrowsKafkaExceptionNamingTheTopicAndCreatesNothing()
    {
        // Taken as absent, the log (2 partitions) passed the check of a definition giving it 3.
        _kafka.CreateTopic("wal.unread", partitions: 2);
        _kafka.SetTopicError("wal.unread", LeaderNotAvailable);
        var ns = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "unread", Partitions = 3 });

        var e = await Assert.ThrowsAsync<KafkaException>(() =>
            Cli.Hosting.Namespaces.PrepareAsync(_kafka, _kafka.BootstrapServers, ns, ApplicationId, logMustExist: false, CancellationToken.None));

        Assert.Contains("topic 'wal.unread'", e.Error.Reason, StringComparison.Ordinal);
        _kafka.SetTopicError("wal.unread", 0);
        Assert.Empty(await TopicPartitionCounts.ReadAsync(_kafka.BootstrapServers, [$"{ApplicationId}-unread-timers-changelog"]));
    }

    [Fact]
    public async Task PrepareAsync_KafkaSlowToAnswer_ReturnsBeforeTheMetadataComesAndThenCreatesTheTopics()
    {
        // The metadata read blocked the admin call's thread (a request thread of the ingress) until Kafka answered.
        _kafka.SetBrokerRoundTrip(1, TimeSpan.FromSeconds(2));
        var ns = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "slow", Partitions = 2 });

        var preparing = Cli.Hosting.Namespaces.PrepareAsync(_kafka, _kafka.BootstrapServers, ns, ApplicationId, logMustExist: false, CancellationToken.None);

        Assert.False(preparing.IsCompleted, "the call returned only once Kafka had answered");
        await preparing.WaitAsync(TimeSpan.FromSeconds(30));
        _kafka.SetBrokerRoundTrip(1, TimeSpan.Zero);
        Assert.Equal(2, (await TopicPartitionCounts.ReadAsync(_kafka.BootstrapServers, ["wal.slow"]))["wal.slow"]);
    }

    [Fact]
    public async Task PrepareAsync_LogWithAnotherCount_ThrowsNamingItsCount()
    {
        _kafka.CreateTopic("wal.narrow", partitions: 2);
        var ns = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "narrow", Partitions = 3 });

        var e = await Assert.ThrowsAsync<NamespaceConfigException>(() =>
            Cli.Hosting.Namespaces.PrepareAsync(_kafka, _kafka.BootstrapServers, ns, ApplicationId, logMustExist: false, CancellationToken.None));

        Assert.Contains("partitions: 3, but topic 'wal.narrow' exists with 2", e.Message, StringComparison.Ordinal);
    }
}
