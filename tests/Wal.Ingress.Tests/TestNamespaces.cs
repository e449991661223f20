using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>The namespaces every ingress test host knows.</summary>
public static class TestNamespaces
{
    /// <summary>Default target, a 1 KiB payload limit and a one-hour max delay.</summary>
    public const string Orders = "orders";

    /// <summary>No default target: a request must name one.</summary>
    public const string Bare = "bare";

    /// <summary>The multi-table mutation persona.</summary>
    public const string Mutations = "mutations";

    /// <summary>The multi-table mutation persona with a Kafka default target: a chunk's table is a topic.</summary>
    public const string KafkaMutations = "kafka-mutations";

    /// <summary>The multi-table mutation persona with a Cassandra default target: a chunk's table is a table, a delete's key a JSON object of its key columns.</summary>
    public const string CassandraMutations = "cassandra-mutations";

    /// <summary>The multi-table mutation persona and no default target, which its chunks would be applied to.</summary>
    public const string MutationsWithoutTarget = "mutations-without-target";

    /// <summary>A 2000-byte bound on bytes awaiting Kafka.</summary>
    public const string Tight = "tight";

    /// <summary>Only the client certificate named <see cref="AllowedClient"/> may write.</summary>
    public const string Guarded = "guarded";

    public const string AllowedClient = "writer-a";

    /// <summary>Two writes of burst, then one every 1000 seconds: no test runs long enough to earn a third.</summary>
    public const string Limited = "limited";

    /// <summary>One write of burst (then one every 1000 seconds) and a 300-byte bound on bytes awaiting Kafka.</summary>
    public const string LimitedTight = "limited-tight";

    public const long LimitedTightMaxInFlightBytes = 300;

    /// <summary>One write of burst, then one every 1000 seconds: for the stream's refusals.</summary>
    public const string LimitedStream = "limited-stream";

    /// <summary>One write of burst, then one every five seconds: a refused write's retry is due within a test's time.</summary>
    public const string Paced = "paced";

    public const double PacedWritesPerSecond = 0.2;

    /// <summary>One write of burst, then a rate near zero: an operator's standstill (0 would mean unlimited).</summary>
    public const string Standstill = "standstill";

    public const int OrdersMaxPayload = 1024;
    public const long TightMaxInFlightBytes = 2000;

    public static NamespaceRegistry Registry() => new(
    [
        new NamespaceConfig
        {
            Name = Orders,
            MaxPayloadBytes = OrdersMaxPayload,
            MaxDelay = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "default-key" } },
        },
        new NamespaceConfig { Name = Bare },
        new NamespaceConfig { Name = Mutations, Personas = { Persona.MultiTableMutation }, DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main" } } },
        new NamespaceConfig { Name = KafkaMutations, Personas = { Persona.MultiTableMutation }, DefaultTarget = new Target { Kafka = new KafkaTarget { Topic = "tables" } } },
        new NamespaceConfig
        {
            Name = CassandraMutations,
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Cassandra = new CassandraTarget { Cluster = "main", Keyspace = "shop", Table = "orders" } },
        },
        new NamespaceConfig { Name = MutationsWithoutTarget, Personas = { Persona.MultiTableMutation } },
        new NamespaceConfig
        {
            Name = Limited,
            Quota = new Quota { WritesPerSecond = 0.001, Burst = 2 },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "limited-key" } },
        },
        new NamespaceConfig
        {
            Name = LimitedTight,
            Quota = new Quota { WritesPerSecond = 0.001, Burst = 1, MaxInFlightBytes = LimitedTightMaxInFlightBytes },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "limited-tight-key" } },
        },
        new NamespaceConfig
        {
            Name = LimitedStream,
            Quota = new Quota { WritesPerSecond = 0.001, Burst = 1 },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "limited-stream-key" } },
        },
        new NamespaceConfig
        {
            Name = Paced,
            Quota = new Quota { WritesPerSecond = PacedWritesPerSecond, Burst = 1 },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "paced-key" } },
        },
        new NamespaceConfig
        {
            Name = Standstill,
            Quota = new Quota { WritesPerSecond = 1e-15, Burst = 1 },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "standstill-key" } },
        },
        new NamespaceConfig
        {
            Name = Guarded,
            AllowedClients = { AllowedClient },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "guarded-key" } },
        },
        new NamespaceConfig
        {
            Name = Tight,
            Quota = new Quota { MaxInFlightBytes = TightMaxInFlightBytes },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "tight-key" } },
        },
    ]);

    public static IEnumerable<string> Topics(INamespaceRegistry registry) => registry.All.Select(n => n.Topic);
}
