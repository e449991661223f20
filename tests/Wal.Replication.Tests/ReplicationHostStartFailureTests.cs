using Wal.Kafka;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>
/// A replicator that cannot start, here because the local cluster refuses its namespace's topic (an ACL, say). The
/// host started the plan's replicators one after another and stopped at the first failure: every namespace after it
/// went unreplicated for as long as that one kept failing.
/// </summary>
public sealed class ReplicationHostStartFailureTests : IDisposable
{
    private readonly EmbeddedKafkaCluster _a = EmbeddedKafkaCluster.Start(1);
    private readonly EmbeddedKafkaCluster _b = EmbeddedKafkaCluster.Start(1);

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task RegistryChanged_OneNamespacesTopicRefused_TheOthersAreReplicated()
    {
        var registry = new NamespaceRegistry();
        await using var host = new ReplicationHost(
            registry, namespaces => CrossRegionReplication.Plan(namespaces, "a", _a.BootstrapServers), new RefusingTopics(_a, "wal.a-refused"),
            debounce: TimeSpan.FromMilliseconds(100));
        await host.StartAsync();

        // One change, planned in name order: the refused namespace comes first.
        registry.Replace([Replicating("a-refused"), Replicating("b-fine")]);

        await Eventually.WaitUntilAsync(
            () => host.Replicators.Any(r => r.Options.Namespace == "b-fine"), TimeSpan.FromSeconds(30), "b-fine's replicator to run");
        Assert.DoesNotContain(host.Replicators, r => r.Options.Namespace == "a-refused");
    }

    private NamespaceConfig Replicating(string name) => new()
    {
        Name = name,
        Partitions = 1,
        Personas = { Persona.CrossRegionReplication, Persona.Delivery },
        Regions =
        {
            new Region { Name = "a", BootstrapServers = _a.BootstrapServers },
            new Region { Name = "b", BootstrapServers = _b.BootstrapServers },
        },
    };

    // The local cluster, refusing one topic as a broker refuses a topic an ACL denies: every other is created.
    private sealed class RefusingTopics(ITopicProvisioner cluster, string refused) : ITopicProvisioner
    {
        public Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default) =>
            topics.Any(t => t.Name == refused)
                ? Task.FromException(new InvalidOperationException($"Creating topic '{refused}' failed: Broker: Topic authorization failed"))
                : cluster.EnsureAsync(topics, cancellationToken);
    }
}
