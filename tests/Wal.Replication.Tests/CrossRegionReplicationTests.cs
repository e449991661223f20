using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

public sealed class CrossRegionReplicationTests
{
    [Fact]
    public void Plan_ReplicatingNamespace_OneReplicatorPerOtherRegion()
    {
        var plan = CrossRegionReplication.Plan([Namespace("orders", Persona.CrossRegionReplication), Namespace("plain", Persona.Delivery)], "a", "kafka-a:9092");

        Assert.Equal(["b", "c"], plan.Select(p => p.RemoteRegion));
        Assert.All(plan, p => Assert.Equal("orders", p.Namespace));
        Assert.Equal("wal-replicate-orders-to-b", plan[0].GroupId);
        Assert.Equal("b:9092", plan[0].RemoteBootstrapServers);
    }

    [Fact]
    public void Plan_RegionServersGiven_OverrideTheNamespacesAddresses()
    {
        var plan = CrossRegionReplication.Plan([Namespace("orders", Persona.CrossRegionReplication)], "a", "kafka-a:9092",
            new Dictionary<string, string> { ["b"] = "kafka-b:9092", ["z"] = "kafka-z:9092" });

        Assert.Equal(["kafka-b:9092", "c:9092"], plan.Select(p => p.RemoteBootstrapServers));
    }

    [Fact]
    public void Plan_LocalRegionNotListed_ThrowsNamingNamespaceAndRegion()
    {
        var error = Assert.Throws<ArgumentException>(() => CrossRegionReplication.Plan([Namespace("orders", Persona.CrossRegionReplication)], "x", "kafka-x:9092"));

        Assert.Contains("'orders'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'x'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_NoReplicatingNamespace_IsEmpty() =>
        Assert.Empty(CrossRegionReplication.Plan([Namespace("plain", Persona.Delivery)], "x", "kafka-x:9092"));

    private static NamespaceConfig Namespace(string name, Persona persona) => new()
    {
        Name = name,
        Topic = $"wal.{name}",
        Personas = { persona },
        Regions =
        {
            new Region { Name = "a", BootstrapServers = "a:9092" },
            new Region { Name = "b", BootstrapServers = "b:9092" },
            new Region { Name = "c", BootstrapServers = "c:9092" },
        },
    };
}
