using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;

namespace Wal.Namespaces.Tests;

public sealed class NamespaceDefaultsTests
{
    [Fact]
    public void Resolve_MinimalDefinition_FillsEveryDocumentedDefault()
    {
        var config = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "orders" });

        Assert.Equal("wal.orders", config.Topic);
        Assert.Equal("wal.orders.dlq", config.DeadLetterTopic);
        Assert.Equal(NamespaceDefaults.Partitions, config.Partitions);
        Assert.Equal([Persona.Delivery], config.Personas);
        Assert.Equal(NamespaceDefaults.MaxDelay, config.MaxDelay.ToTimeSpan());
        Assert.Equal(NamespaceDefaults.MaxPayloadBytes, config.MaxPayloadBytes);
        Assert.Equal(NamespaceDefaults.InitialBackoff, config.Retry.InitialBackoff.ToTimeSpan());
        Assert.Equal(NamespaceDefaults.Multiplier, config.Retry.Multiplier);
        Assert.Equal(NamespaceDefaults.MaxBackoff, config.Retry.MaxBackoff.ToTimeSpan());
        Assert.Equal(NamespaceDefaults.MaxAttempts, config.Retry.MaxAttempts);
        Assert.Equal(NamespaceDefaults.MaxInFlightBytes, config.Quota.MaxInFlightBytes);
    }

    [Fact]
    public void Resolve_DurationsWrittenAsZero_TakeTheirDocumentedDefaults()
    {
        // namespace.proto: "Zero: 365 days", "Zero: 1 hour", "Zero: 100 ms", "Zero: 5 minutes". A zero duration is
        // present, not unset, and was refused as "must be positive".
        var zero = new Duration();
        var config = NamespaceDefaults.Resolve(new NamespaceConfig
        {
            Name = "orders",
            MaxDelay = zero.Clone(),
            MutationExpiry = zero.Clone(),
            Retry = new RetryPolicy { InitialBackoff = zero.Clone(), MaxBackoff = zero.Clone() },
        });

        Assert.Equal(NamespaceDefaults.MaxDelay, config.MaxDelay.ToTimeSpan());
        Assert.Equal(NamespaceDefaults.MutationExpiry, config.MutationExpiry.ToTimeSpan());
        Assert.Equal(NamespaceDefaults.InitialBackoff, config.Retry.InitialBackoff.ToTimeSpan());
        Assert.Equal(NamespaceDefaults.MaxBackoff, config.Retry.MaxBackoff.ToTimeSpan());
    }

    [Fact]
    public void Resolve_ExplicitValues_AreKept()
    {
        var definition = new NamespaceConfig
        {
            Name = "orders",
            Topic = "orders-log",
            DeadLetterTopic = "orders-dead",
            MaxPayloadBytes = 512,
            Retry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) },
        };

        var config = NamespaceDefaults.Resolve(definition);

        Assert.Equal("orders-log", config.Topic);
        Assert.Equal("orders-dead", config.DeadLetterTopic);
        Assert.Equal(512, config.MaxPayloadBytes);
        Assert.Equal(3, config.Retry.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), config.Retry.InitialBackoff.ToTimeSpan());
    }

    [Fact]
    public void Resolve_DoesNotMutateItsInput()
    {
        var definition = new NamespaceConfig { Name = "orders" };

        _ = NamespaceDefaults.Resolve(definition);

        Assert.Equal(string.Empty, definition.Topic);
        Assert.Null(definition.Retry);
    }

    [Theory]
    [InlineData("Orders", "name")]
    [InlineData("has space", "name")]
    [InlineData("", "name")]
    public void Resolve_BadName_NamesTheField(string name, string field)
    {
        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceDefaults.Resolve(new NamespaceConfig { Name = name }));

        Assert.Contains(error.Errors, e => e.StartsWith(field + ":", StringComparison.Ordinal));
    }

    [Fact]
    public void Resolve_InvalidRetryPolicy_ReportsEveryBadField()
    {
        var definition = new NamespaceConfig
        {
            Name = "orders",
            Retry = new RetryPolicy
            {
                Multiplier = 0.5,
                Jitter = 1.5,
                MaxAttempts = -1,
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            },
        };

        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceDefaults.Resolve(definition));

        Assert.Contains(error.Errors, e => e.StartsWith("retry.multiplier:", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("retry.jitter:", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("retry.max_attempts:", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("retry.max_backoff:", StringComparison.Ordinal));
        Assert.Contains("orders", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_SameTopicForLogAndDeadLetters_IsRejected()
    {
        var definition = new NamespaceConfig { Name = "orders", Topic = "t", DeadLetterTopic = "t" };

        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceDefaults.Resolve(definition));

        Assert.Contains(error.Errors, e => e.StartsWith("dead_letter_topic:", StringComparison.Ordinal));
    }

    [Fact]
    public void Resolve_ReplicationWithOneRegion_IsRejected()
    {
        var definition = new NamespaceConfig { Name = "orders", Personas = { Persona.CrossRegionReplication } };
        definition.Regions.Add(new Region { Name = "a", BootstrapServers = "127.0.0.1:9092" });

        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceDefaults.Resolve(definition));

        Assert.Contains(error.Errors, e => e.StartsWith("regions:", StringComparison.Ordinal));
    }

    public static TheoryData<string, Target, string> InvalidDefaultTargets => new()
    {
        { "kafka without a topic", new Target { Kafka = new KafkaTarget { Cluster = "b" } }, "default_target.kafka.topic:" },
        { "upstream not http", new Target { Upstream = new UpstreamTarget { Url = "ftp://hooks.example.com/x" } }, "default_target.upstream.url:" },
        { "upstream header set by Wal", new Target { Upstream = new UpstreamTarget { Url = "http://hooks.example.com/x", Headers = { ["Wal-Version"] = "1" } } }, "default_target.upstream.headers:" },
        { "memcached without a cluster", new Target { Memcached = new MemcachedTarget { Key = "k" } }, "default_target.memcached.cluster:" },
        { "memcached key with a space", new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "a b" } }, "default_target.memcached.key:" },
        { "memcached ttl not normalized", new Target { Memcached = new MemcachedTarget { Cluster = "local", Ttl = new Duration { Seconds = 1, Nanos = -1 } } }, "default_target.memcached.ttl:" },
        { "cassandra without a table", new Target { Cassandra = new CassandraTarget { Keyspace = "ks" } }, "default_target.cassandra:" },
        { "no destination", new Target(), "default_target: names no destination" },
    };

    [Theory]
    [MemberData(nameof(InvalidDefaultTargets))]
    public void Resolve_InvalidDefaultTarget_IsRejectedNamingTheField(string because, Target target, string expected)
    {
        var definition = new NamespaceConfig { Name = "orders", DefaultTarget = target };

        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceDefaults.Resolve(definition));

        Assert.True(error.Errors.Any(e => e.StartsWith(expected, StringComparison.Ordinal)), $"{because}: {string.Join("; ", error.Errors)}");
    }

    [Fact]
    public void Resolve_MemcachedDefaultTargetWithoutKey_IsKept()
    {
        // A multi-table mutation's chunks name their own keys; a default target need only name the cluster.
        var definition = new NamespaceConfig { Name = "kv", DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } } };

        var config = NamespaceDefaults.Resolve(definition);

        Assert.Equal("local", config.DefaultTarget.Memcached.Cluster);
    }
}
