using Wal.Schemas.V1;

namespace Wal.Namespaces.Tests;

public sealed class NamespaceRegistryTests
{
    [Fact]
    public void TryGet_AfterReplace_ReturnsResolvedDefinition()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "orders" }]);

        Assert.True(registry.TryGet("orders", out var config));
        Assert.Equal("wal.orders", config.Topic);
        Assert.False(registry.TryGet("unknown", out _));
    }

    [Fact]
    public void Replace_WithInvalidDefinition_KeepsThePreviousSet()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "orders" }]);

        Assert.Throws<NamespaceConfigException>(() => registry.Replace([new NamespaceConfig { Name = "BAD" }]));

        Assert.True(registry.TryGet("orders", out _));
    }

    [Fact]
    public void Replace_DuplicateNames_IsRejected()
    {
        var registry = new NamespaceRegistry();

        var error = Assert.Throws<NamespaceConfigException>(() =>
            registry.Replace([new NamespaceConfig { Name = "a" }, new NamespaceConfig { Name = "a" }]));

        Assert.Contains("defined twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Upsert_ATopicAnotherNamespaceUses_IsRejectedAndTheSetKept()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a" }]);

        var error = Assert.Throws<NamespaceConfigException>(() => registry.Upsert(new NamespaceConfig { Name = "b", DeadLetterTopic = "wal.a" }));

        Assert.Equal(["dead_letter_topic: 'wal.a' is already the topic of namespace 'a'"], error.Errors);
        Assert.Equal(["a"], registry.All.Select(n => n.Name));
        // A namespace may keep its own topics when it is updated.
        registry.Upsert(new NamespaceConfig { Name = "a", MaxPayloadBytes = 7 });
        Assert.True(registry.TryGet("a", out var a) && a.MaxPayloadBytes == 7);
    }

    [Fact]
    public void TryGetTopicOwner_FindsEachLogAndDeadLetterTopicAndFollowsChanges()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a" }, new NamespaceConfig { Name = "b", Topic = "orders-log" }]);

        Assert.True(registry.TryGetTopicOwner("wal.a", out var owner) && owner.Name == "a");
        Assert.True(registry.TryGetTopicOwner("wal.a.dlq", out owner) && owner.Name == "a");
        Assert.True(registry.TryGetTopicOwner("orders-log", out owner) && owner.Name == "b");
        Assert.False(registry.TryGetTopicOwner("wal.b", out _));

        registry.Remove("a");
        registry.Upsert(new NamespaceConfig { Name = "c" });

        Assert.False(registry.TryGetTopicOwner("wal.a", out _));
        Assert.True(registry.TryGetTopicOwner("wal.c", out owner) && owner.Name == "c");
    }

    [Fact]
    public void UpsertAndRemove_RaiseChangedAndUpdateTheSnapshot()
    {
        var registry = new NamespaceRegistry();
        var changes = 0;
        registry.Changed += (_, _) => changes++;

        registry.Upsert(new NamespaceConfig { Name = "b" });
        registry.Upsert(new NamespaceConfig { Name = "a" });
        registry.Upsert(new NamespaceConfig { Name = "a", MaxPayloadBytes = 10 });

        Assert.Equal(["a", "b"], registry.All.Select(n => n.Name));
        Assert.True(registry.TryGet("a", out var a));
        Assert.Equal(10, a.MaxPayloadBytes);
        Assert.True(registry.Remove("a"));
        Assert.False(registry.Remove("a"));
        Assert.Equal(["b"], registry.All.Select(n => n.Name));
        Assert.Equal(4, changes);
    }

    [Fact]
    public void CheckUpsert_ChangedPartitions_IsRejectedNamingTheFieldAndTheCountKept()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a", Partitions = 2 }]);

        var error = Assert.Throws<NamespaceConfigException>(() => registry.CheckUpsert(new NamespaceConfig { Name = "a", Partitions = 4 }));

        Assert.StartsWith("partitions: 2 cannot change to 4;", Assert.Single(error.Errors), StringComparison.Ordinal);
        Assert.True(registry.TryGet("a", out var a));
        Assert.Equal(("wal.a", 2), (a.Topic, a.Partitions));
    }

    [Fact]
    public void CheckUpsert_ChangedPartitionsToTheCountItsLogHas_IsAcceptedAndAnyOtherRefused()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a", Partitions = 3 }]);

        var corrected = registry.CheckUpsert(new NamespaceConfig { Name = "a", Partitions = 2 }, logPartitions: 2);
        var error = Assert.Throws<NamespaceConfigException>(() => registry.CheckUpsert(new NamespaceConfig { Name = "a", Partitions = 4 }, logPartitions: 2));
        var moved = Assert.Throws<NamespaceConfigException>(() => registry.CheckUpsert(new NamespaceConfig { Name = "a", Topic = "wal.a2", Partitions = 2 }, logPartitions: 2));

        Assert.Equal(2, corrected.Partitions);
        Assert.Contains("changes only to the count its topic 'wal.a' has", Assert.Single(error.Errors), StringComparison.Ordinal);
        Assert.StartsWith("partitions: 3 cannot change to 2;", Assert.Single(moved.Errors), StringComparison.Ordinal);
    }

    // The topology reads only a namespace's current log: records left unread on the old one were acknowledged and never
    // delivered. 'wal dlq' reads only its current dead-letter topic. The follower still takes what the topic holds.
    [Fact]
    public void RefuseMove_MovedLogOrDeadLetterTopic_IsRejectedNamingEach_UpsertTakesIt()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a", Topic = "a-log" }]);

        var error = Assert.Throws<NamespaceConfigException>(() => registry.RefuseMove(registry.CheckUpsert(new NamespaceConfig { Name = "a", DeadLetterTopic = "a-dlq" })));
        var kept = registry.CheckUpsert(new NamespaceConfig { Name = "a", Topic = "a-log", MaxDelay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) });
        registry.RefuseMove(kept);
        registry.RefuseMove(registry.CheckUpsert(new NamespaceConfig { Name = "new", Topic = "new-log" }));
        registry.Upsert(new NamespaceConfig { Name = "a", Topic = "a-log-2" });

        Assert.Equal(
            ["topic: 'a-log' cannot change to 'wal.a';", "dead_letter_topic: 'wal.a.dlq' cannot change to 'a-dlq';"],
            error.Errors.Select(e => e[..(e.IndexOf(';', StringComparison.Ordinal) + 1)]));
        Assert.Equal("a-log", kept.Topic);
        Assert.True(registry.TryGet("a", out var followed) && followed.Topic == "a-log-2");
    }

    [Fact]
    public void Upsert_ChangedPartitions_TakesWhatTheControlPlaneTopicHolds()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a", Partitions = 2 }]);

        registry.Upsert(new NamespaceConfig { Name = "a", Partitions = 4 });

        Assert.True(registry.TryGet("a", out var a) && a.Partitions == 4);
    }

    [Fact]
    public void Upsert_PartitionsLeftToTheDefaultThatTheNamespaceHas_IsAccepted()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a", Partitions = NamespaceDefaults.Partitions }]);

        registry.Upsert(new NamespaceConfig { Name = "a", MaxPayloadBytes = 7 });

        Assert.True(registry.TryGet("a", out var a) && a.MaxPayloadBytes == 7 && a.Partitions == NamespaceDefaults.Partitions);
    }
}
