using Wal.Cli.Hosting;
using Wal.Schemas.V1;
using Wal.Sinks;

namespace Wal.Cli.Tests.Hosting;

public sealed class SinkSettingsTests
{
    [Fact]
    public void FromText_ClusterLists_ServersSplitBySemicolon()
    {
        var settings = SinkSettings.FromText("local=m1:11211;m2:11211", "main=c1:9042;c2:9042", "b=k1:9092;k2:9092,c=k3:9092");

        Assert.Equal(["m1:11211", "m2:11211"], settings.MemcachedClusters["local"]);
        Assert.Equal(["c1:9042", "c2:9042"], settings.CassandraClusters["main"]);
        Assert.Equal(["k1:9092", "k2:9092"], settings.KafkaClusters["b"]);
        Assert.Equal(["k3:9092"], settings.KafkaClusters["c"]);
    }

    [Fact]
    public void FromText_BadList_FormatErrorNamingTheVariable()
    {
        var error = Assert.Throws<FormatException>(() => SinkSettings.FromText(null, "cassandra:9042"));

        Assert.Contains("WAL_CASSANDRA_CLUSTERS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateRouter_EveryConfiguredKindAndUpstreamAlwaysReachable()
    {
        // Nothing listens at these addresses: the sinks connect only when they deliver.
        var settings = SinkSettings.FromText(null, "main=127.0.0.1:1") with { LocalKafka = "127.0.0.1:1" };
        await using var router = settings.CreateRouter(new Wal.Namespaces.NamespaceRegistry(), "wal-topology");

        var memcached = await router.DeliverAsync(new Delivery("m", new Target { Memcached = new MemcachedTarget { Key = "k" } }, "x"u8.ToArray(), 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, memcached.Outcome);
        Assert.Contains("configured: Cassandra, Kafka, Upstream", memcached.Error, StringComparison.Ordinal);
    }
}
