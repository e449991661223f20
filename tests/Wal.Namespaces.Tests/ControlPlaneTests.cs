using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;

namespace Wal.Namespaces.Tests;

public sealed class ControlPlaneTests : IDisposable
{
    private static readonly TimeSpan ReloadDeadline = TimeSpan.FromSeconds(20);

    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(brokerCount: 1);

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public async Task SeedIfEmpty_FirstStart_PublishesAndLoadsTheSeed()
    {
        await using var plane = await StartAsync();

        var seeded = await plane.SeedIfEmptyAsync([new NamespaceConfig { Name = "orders" }, new NamespaceConfig { Name = "carts" }]);

        Assert.True(seeded);
        Assert.Equal(["carts", "orders"], plane.Registry.All.Select(n => n.Name));
    }

    [Fact]
    public async Task SeedIfEmpty_TopicMadeWithSeveralPartitions_PublishesAndLoadsEveryDefinition()
    {
        // Made by an operator's tooling (wal ingress --no-create-topics), or auto-created, with the cluster's default count.
        var options = new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers, Timeout = TimeSpan.FromSeconds(20) };
        _kafka.CreateTopic(options.Topic, partitions: 3);
        await using var plane = new ControlPlane(options, new NamespaceRegistry());
        await plane.StartAsync();
        string[] names = ["carts", "orders", "users", "payments", "sessions"];

        await plane.SeedIfEmptyAsync([.. names.Select(name => new NamespaceConfig { Name = name })]);

        Assert.Equal(names.Order(StringComparer.Ordinal), plane.Registry.All.Select(n => n.Name));
        await using var later = new ControlPlane(options, new NamespaceRegistry());
        await later.StartAsync();
        Assert.Equal(names.Order(StringComparer.Ordinal), later.Registry.All.Select(n => n.Name));
    }

    [Fact]
    public async Task SeedIfEmpty_SecondStart_KeepsWhatTheTopicHolds()
    {
        await using (var first = await StartAsync())
        {
            await first.SeedIfEmptyAsync([new NamespaceConfig { Name = "orders" }]);
            await first.PutAsync(new NamespaceConfig { Name = "orders", MaxPayloadBytes = 99 });
        }

        await using var second = await StartAsync();
        var seeded = await second.SeedIfEmptyAsync([new NamespaceConfig { Name = "other" }]);

        Assert.False(seeded);
        Assert.True(second.Registry.TryGet("orders", out var orders));
        Assert.Equal(99, orders.MaxPayloadBytes);
        Assert.False(second.Registry.TryGet("other", out _));
    }

    [Fact]
    public async Task SeedIfEmpty_AfterTheOperatorDeletedEveryNamespace_DoesNotBringThemBack()
    {
        await using (var first = await StartAsync())
        {
            await first.SeedIfEmptyAsync([new NamespaceConfig { Name = "orders" }]);
            Assert.True(await first.DeleteAsync("orders"));
        }

        await using var second = await StartAsync();
        var seeded = await second.SeedIfEmptyAsync([new NamespaceConfig { Name = "orders" }]);

        Assert.False(seeded);
        Assert.Empty(second.Registry.All);
    }

    [Fact]
    public async Task SeedIfEmpty_TheFirstStartStoppedPartWay_TheNextStartCompletesTheSeed()
    {
        await using (var first = await StartAsync())
        {
            await SeedPartWayAsync(first);
        }

        await using var second = await StartAsync();
        var seeded = await second.SeedIfEmptyAsync(ThreeNamespaceSeed);

        Assert.Equal(["carts", "orders", "users"], second.Registry.All.Select(n => n.Name));
        Assert.True(seeded);
    }

    [Fact]
    public async Task SeedIfEmpty_CompletingASeed_DoesNotBringBackANamespaceDeletedSince()
    {
        string deleted;
        await using (var first = await StartAsync())
        {
            deleted = (await SeedPartWayAsync(first))[0];
        }

        // Before anything completes the seed, an operator deletes a namespace it wrote.
        await using (var admin = await StartAsync())
        {
            Assert.True(await admin.DeleteAsync(deleted));
        }

        await using var second = await StartAsync();
        var seeded = await second.SeedIfEmptyAsync(ThreeNamespaceSeed);
        var seededAgain = await second.SeedIfEmptyAsync(ThreeNamespaceSeed);

        Assert.True(seeded);
        Assert.False(seededAgain);
        Assert.Equal(ThreeNamespaceSeed.Select(n => n.Name).Where(n => n != deleted).Order(), second.Registry.All.Select(n => n.Name));
    }

    [Fact]
    public async Task SeedIfEmpty_CompletingASeedWhoseDefinitionClashesWithOneCreatedSince_IsRefusedNamingBoth()
    {
        string lacking;
        await using (var first = await StartAsync())
        {
            var written = await SeedPartWayAsync(first);
            lacking = ThreeNamespaceSeed.Select(n => n.Name).First(n => !written.Contains(n));
        }

        await using (var admin = await StartAsync())
        {
            var topic = admin.Check(new NamespaceConfig { Name = lacking }).Topic;
            await admin.PutAsync(new NamespaceConfig { Name = "squatter", Topic = topic });
        }

        await using var second = await StartAsync();
        var refused = await Assert.ThrowsAsync<NamespaceConfigException>(() => second.SeedIfEmptyAsync(ThreeNamespaceSeed));

        Assert.Contains(lacking, refused.Message, StringComparison.Ordinal);
        Assert.Contains("squatter", refused.Message, StringComparison.Ordinal);
        Assert.False(second.Registry.TryGet(lacking, out _));
    }

    [Fact]
    public async Task SeedIfEmpty_TwoFirstStartsAtOnce_BothServeTheSeedAndALaterStartFindsItComplete()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();

        await Task.WhenAll(a.SeedIfEmptyAsync(ThreeNamespaceSeed), b.SeedIfEmptyAsync(ThreeNamespaceSeed));
        await using var later = await StartAsync();
        var seeded = await later.SeedIfEmptyAsync(ThreeNamespaceSeed);

        Assert.False(seeded);
        Assert.Equal(["carts", "orders", "users"], later.Registry.All.Select(n => n.Name));
        await Eventually.WaitUntilAsync(() => a.Registry.All.Count == 3 && b.Registry.All.Count == 3, ReloadDeadline, "both instances to serve the seed");
    }

    [Fact]
    public async Task SeedIfEmpty_ATopicWrittenWithoutASeed_IsLeftAsItIs()
    {
        // Written before seeds were marked, or only through the admin API: nothing says a seed was begun, so none is completed.
        var options = await EnsureTopicAsync();
        await ProduceRawAsync(options.Topic, "orders", new NamespaceConfig { Name = "orders" }.ToByteArray());

        await using var plane = await StartAsync();
        var seeded = await plane.SeedIfEmptyAsync(ThreeNamespaceSeed);

        Assert.False(seeded);
        Assert.Equal(["orders"], plane.Registry.All.Select(n => n.Name));
    }

    [Fact]
    public async Task Put_OnOneInstance_ReachesAnotherWithoutRestart()
    {
        await using var writer = await StartAsync();
        await using var reader = await StartAsync();

        await writer.PutAsync(new NamespaceConfig { Name = "orders", MaxPayloadBytes = 1234 });

        await Eventually.WaitUntilAsync(() => reader.Registry.TryGet("orders", out var c) && c.MaxPayloadBytes == 1234, ReloadDeadline, "the reader to see the update");
        Assert.True(await writer.DeleteAsync("orders"));
        await Eventually.WaitUntilAsync(() => !reader.Registry.TryGet("orders", out _), ReloadDeadline, "the reader to see the delete");
    }

    [Fact]
    public async Task Follow_TheTopicFailsToReadAfterStart_KeepsFollowing()
    {
        var errors = new ErrorCountingLogger();
        await using var reader = await StartAsync(errors);
        // Kafka refuses the follower's next fetch, and librdkafka hands the error to Consume. It
        // fetches again 5 s later (ten times fetch.error.backoff.ms after an authorization error).
        _kafka.PushRequestErrors(KafkaApi.Fetch, 29);
        await Eventually.WaitUntilAsync(() => errors.Count > 0, ReloadDeadline, "the follower to meet the fetch error");
        await using var writer = await StartAsync();

        await writer.PutAsync(new NamespaceConfig { Name = "orders", MaxPayloadBytes = 1234 });

        await Eventually.WaitUntilAsync(() => reader.Registry.TryGet("orders", out var c) && c.MaxPayloadBytes == 1234, ReloadDeadline, "the reader to see the update after the error");
    }

    [Fact]
    public async Task Put_ATopicAnotherNamespaceUses_IsRefusedAndNothingIsPublished()
    {
        await using var plane = await StartAsync();
        await plane.PutAsync(new NamespaceConfig { Name = "a" });

        var shared = await Assert.ThrowsAsync<NamespaceConfigException>(() => plane.PutAsync(new NamespaceConfig { Name = "b", Topic = "wal.a" }));
        var intoDeadLetters = await Assert.ThrowsAsync<NamespaceConfigException>(() => plane.PutAsync(new NamespaceConfig { Name = "c", Topic = "wal.a.dlq" }));

        Assert.Contains("topic: 'wal.a' is already the topic of namespace 'a'", shared.Message, StringComparison.Ordinal);
        Assert.Contains("is already the dead_letter_topic of namespace 'a'", intoDeadLetters.Message, StringComparison.Ordinal);
        await using var fresh = await StartAsync();
        Assert.Equal(["a"], fresh.Registry.All.Select(n => n.Name));
    }

    [Fact]
    public async Task Put_TheControlPlaneTopic_IsRefused()
    {
        await using var plane = await StartAsync();

        // Namespace "namespaces" would log into "wal.namespaces" by default: the control plane.
        var byDefault = await Assert.ThrowsAsync<NamespaceConfigException>(() => plane.PutAsync(new NamespaceConfig { Name = "namespaces" }));
        var named = await Assert.ThrowsAsync<NamespaceConfigException>(() => plane.PutAsync(new NamespaceConfig { Name = "x", DeadLetterTopic = "wal.namespaces" }));
        var seeded = await Assert.ThrowsAsync<NamespaceConfigException>(() => plane.SeedIfEmptyAsync([new NamespaceConfig { Name = "namespaces" }]));

        Assert.Contains("topic: 'wal.namespaces' is the control-plane topic", byDefault.Message, StringComparison.Ordinal);
        Assert.Contains("dead_letter_topic: 'wal.namespaces' is the control-plane topic", named.Message, StringComparison.Ordinal);
        Assert.Contains("control-plane topic", seeded.Message, StringComparison.Ordinal);
        Assert.Empty(plane.Registry.All);
    }

    [Fact]
    public async Task Put_InvalidDefinition_IsRefusedAndNothingIsPublished()
    {
        await using var plane = await StartAsync();

        var error = await Assert.ThrowsAsync<NamespaceConfigException>(() =>
            plane.PutAsync(new NamespaceConfig { Name = "orders", Retry = new RetryPolicy { Multiplier = 0.1 } }));

        Assert.Contains("retry.multiplier", error.Message, StringComparison.Ordinal);
        await using var fresh = await StartAsync();
        Assert.Empty(fresh.Registry.All);
    }

    [Fact]
    public async Task Delete_UnknownNamespace_ReturnsFalse()
    {
        await using var plane = await StartAsync();

        Assert.False(await plane.DeleteAsync("nope"));
    }


    [Fact]
    public async Task Put_ClashingWithAChangeThisInstanceHadNotReadYet_IsNotAnsweredAsApplied()
    {
        // Two ingress instances: B has not yet read A's latest change when it checks its own.
        await using var a = await StartAsync();
        var lagging = new ManualResetEventSlim(true);
        await using var b = await StartLaggingAsync(lagging);

        // Every follower rejects b's record (its topic is a's), so answering OK would be a lie.
        var error = await PutBehindAsync(a, b, lagging);
        Assert.Contains("topic: 'shared' is already the topic of namespace 'a'", error.Message, StringComparison.Ordinal);
        Assert.False(b.Registry.TryGet("b", out _));
    }

    [Fact]
    public async Task Put_RejectedOnceApplied_TheTopicStillEndsWithWhatEveryInstanceApplied()
    {
        // "b" exists; B, behind A, updates it onto the topic A's new namespace just took. Every follower rejects the
        // update and keeps serving the earlier definition, but the rejected record is now b's latest: once compaction
        // dropped the earlier one, an instance starting then found only the rejected record, and lost b. What goes back is
        // b as written, not the registry's resolved copy: definitions are stored as written so that a later version's
        // defaults apply to them.
        await using var a = await StartAsync();
        var lagging = new ManualResetEventSlim(true);
        await using var b = await StartLaggingAsync(lagging);
        var written = new NamespaceConfig { Name = "b", Topic = "wal.b" };
        await a.PutAsync(written);
        await Eventually.WaitUntilAsync(() => b.Registry.TryGet("b", out _), ReloadDeadline, "B to apply b");
        await PutBehindAsync(a, b, lagging);

        // What a compacted topic keeps, the last record per key in offset order, read by an instance starting on it.
        var options = await EnsureTopicAsync();
        var kept = LastPerKey(options.Topic);
        Assert.Equal(written, NamespaceConfig.Parser.ParseFrom(kept.Single(r => r.Key == "b").Value ?? []));
        var compacted = options with { Topic = options.Topic + ".compacted" };
        await _kafka.EnsureAsync([compacted.TopicSpec]);
        foreach (var (key, value) in kept)
        {
            await ProduceRawAsync(compacted.Topic, key, value);
        }

        await using var later = new ControlPlane(compacted, new NamespaceRegistry());
        await later.StartAsync();
        Assert.True(later.Registry.TryGet("b", out var restored), "b was lost: the topic's last record for it is one no instance applied");
        Assert.Equal("wal.b", restored.Topic);
        Assert.Equal("wal.b", a.Registry.TryGet("b", out var live) ? live.Topic : null);
    }

    [Fact]
    public async Task Start_PartitionsChangedByARecordOfTheTopic_SameCountBeforeAndAfterCompaction()
    {
        // Written before partition changes were refused (or by two creates of one name through two instances at once).
        // An instance reading the whole topic refused the second record and served 2; once compaction dropped the first,
        // an instance starting then found only the second and served 4, so the two named different logs' counts.
        var options = await EnsureTopicAsync();
        await ProduceRawAsync(options.Topic, "a", new NamespaceConfig { Name = "a", Partitions = 2 }.ToByteArray());
        await ProduceRawAsync(options.Topic, "a", new NamespaceConfig { Name = "a", Partitions = 4 }.ToByteArray());
        var compacted = options with { Topic = options.Topic + ".compacted" };
        await _kafka.EnsureAsync([compacted.TopicSpec]);
        foreach (var (key, value) in LastPerKey(options.Topic))
        {
            await ProduceRawAsync(compacted.Topic, key, value);
        }

        await using var whole = new ControlPlane(options, new NamespaceRegistry());
        await whole.StartAsync();
        await using var later = new ControlPlane(compacted, new NamespaceRegistry());
        await later.StartAsync();

        Assert.True(whole.Registry.TryGet("a", out var read));
        Assert.True(later.Registry.TryGet("a", out var readCompacted));
        Assert.Equal(readCompacted.Partitions, read.Partitions);
        Assert.Throws<NamespaceConfigException>(() => whole.Check(new NamespaceConfig { Name = "a", Partitions = 2 }));
    }

    [Fact]
    public async Task Put_RejectedWhileAnotherInstanceDeletedTheName_DoesNotBringTheNamespaceBack()
    {
        // B's put of b is rejected. Before B has read it, A deletes b and tells its caller so; B must not republish
        // the b it still serves over that delete.
        await using var a = await StartAsync();
        var atZ = new ManualResetEventSlim(true);
        var atX = new ManualResetEventSlim(true);
        var registryB = new NamespaceRegistry();
        registryB.Changed += (_, _) =>
        {
            atZ.Wait(ReloadDeadline);
            if (registryB.TryGet("x", out _))
            {
                atX.Wait(ReloadDeadline);
            }
        };
        await using var b = await StartAsync(registry: registryB);
        await a.PutAsync(new NamespaceConfig { Name = "b", Topic = "wal.b" });
        await Eventually.WaitUntilAsync(() => registryB.TryGet("b", out _), ReloadDeadline, "B to apply b");
        atZ.Reset();
        atX.Reset();
        await a.PutAsync(new NamespaceConfig { Name = "z" });
        await Eventually.WaitUntilAsync(() => registryB.TryGet("z", out _), ReloadDeadline, "B to start applying z (and stall there)");
        await a.PutAsync(new NamespaceConfig { Name = "a", Topic = "shared" });
        var options = await EnsureTopicAsync();
        var beforePut = End(options.Topic);
        var put = b.PutAsync(new NamespaceConfig { Name = "b", Topic = "shared" });
        await Eventually.WaitUntilAsync(() => End(options.Topic) > beforePut, ReloadDeadline, "B's put to be written");
        await a.PutAsync(new NamespaceConfig { Name = "x" });
        Assert.True(await a.DeleteAsync("b"));
        var afterDelete = End(options.Topic);

        // B reads up to x and stalls there, past its rejected put; whatever it publishes now goes after A's delete.
        atZ.Set();
        await Task.WhenAny(put, Eventually.WaitUntilAsync(() => End(options.Topic) > afterDelete, TimeSpan.FromSeconds(5), "B to republish"));
        atX.Set();
        await Assert.ThrowsAsync<NamespaceConfigException>(() => put);

        await using var later = new ControlPlane(options, new NamespaceRegistry());
        await later.StartAsync();
        Assert.False(later.Registry.TryGet("b", out _), "b, deleted through A with success, came back");
    }

    private long End(string topic)
    {
        using var consumer = new ConsumerBuilder<string, byte[]?>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = $"end-{Guid.NewGuid():N}" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    [Fact]
    public async Task Start_TheTopicHoldsADefinitionWithAnUnnormalizedDuration_StartsAndRejectsIt()
    {
        var options = await EnsureTopicAsync();
        var bad = new NamespaceConfig { Name = "orders", MaxDelay = new Duration { Seconds = 1, Nanos = -1 } };
        await ProduceRawAsync(options.Topic, "orders", bad.ToByteArray());
        await ProduceRawAsync(options.Topic, "carts", new NamespaceConfig { Name = "carts" }.ToByteArray());

        await using var plane = await StartAsync();

        Assert.Equal(["carts"], plane.Registry.All.Select(n => n.Name));
    }

    [Fact]
    public async Task Put_UnnormalizedDurations_AreRefusedNamingTheField()
    {
        await using var plane = await StartAsync();

        var maxDelay = await Assert.ThrowsAsync<NamespaceConfigException>(() =>
            plane.PutAsync(new NamespaceConfig { Name = "a", MaxDelay = new Duration { Seconds = 1, Nanos = -1 } }));
        // The topology reads mutation_expiry with ToTimeSpan, which throws on such a value.
        var expiry = await Assert.ThrowsAsync<NamespaceConfigException>(() =>
            plane.PutAsync(new NamespaceConfig { Name = "b", MutationExpiry = new Duration { Seconds = 0, Nanos = 2_000_000_000 } }));

        Assert.Contains("max_delay", maxDelay.Message, StringComparison.Ordinal);
        Assert.Contains("mutation_expiry", expiry.Message, StringComparison.Ordinal);
        Assert.Empty(plane.Registry.All);
    }

    [Fact]
    public async Task SeedIfEmpty_AnotherInstanceSeededAndChangedSinceThisOneLoaded_DoesNotRevertTheChange()
    {
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        await first.SeedIfEmptyAsync([new NamespaceConfig { Name = "orders" }]);
        await first.PutAsync(new NamespaceConfig { Name = "orders", MaxPayloadBytes = 99 });
        await Eventually.WaitUntilAsync(() => second.Registry.TryGet("orders", out var c) && c.MaxPayloadBytes == 99, ReloadDeadline, "the second instance to see the update");

        var seeded = await second.SeedIfEmptyAsync([new NamespaceConfig { Name = "orders" }]);

        Assert.False(seeded);
        Assert.True(second.Registry.TryGet("orders", out var orders));
        Assert.Equal(99, orders.MaxPayloadBytes);
    }

    [Fact]
    public async Task Start_ARecordKeyedByAnotherNameThanItDefines_IsRejectedNamingBoth()
    {
        var options = await EnsureTopicAsync();
        await ProduceRawAsync(options.Topic, "orders", new NamespaceConfig { Name = "carts" }.ToByteArray());
        await ProduceRawAsync(options.Topic, "users", new NamespaceConfig { Name = "users" }.ToByteArray());
        var errors = new ErrorCountingLogger();

        await using var plane = await StartAsync(errors);

        Assert.Equal(["users"], plane.Registry.All.Select(n => n.Name));
        Assert.Contains(errors.Messages, m => m.Contains("'orders'", StringComparison.Ordinal) && m.Contains("'carts'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Follow_ARecordKeyedByAnotherNameThanItDefines_KeepsServingBothNamesAsTheyWere()
    {
        await using var plane = await StartAsync();
        await plane.PutAsync(new NamespaceConfig { Name = "carts", MaxPayloadBytes = 10 });
        await ProduceRawAsync(ControlPlaneOptions.DefaultTopic, "orders",
            new NamespaceConfig { Name = "carts", MaxPayloadBytes = 20 }.ToByteArray());

        // A change through the plane after the raw record: once it is applied, the raw record was read too.
        await plane.PutAsync(new NamespaceConfig { Name = "users" });

        Assert.True(plane.Registry.TryGet("carts", out var carts));
        Assert.Equal(10, carts.MaxPayloadBytes);
        Assert.False(plane.Registry.TryGet("orders", out _));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Start_ARecordWithNoKey_IsRejectedAndTheInstanceStarts(bool withDefinition)
    {
        // Written by hand (a console producer sends no key unless told to), into a topic that is not compacted or on a
        // broker that does not refuse it: no name to apply it to, and it must not keep every instance from starting.
        var options = await EnsureTopicAsync();
        await ProduceRawAsync(options.Topic, null, withDefinition ? new NamespaceConfig { Name = "orders" }.ToByteArray() : null);
        await ProduceRawAsync(options.Topic, "users", new NamespaceConfig { Name = "users" }.ToByteArray());
        var errors = new ErrorCountingLogger();

        await using var plane = await StartAsync(errors);

        Assert.Equal(["users"], plane.Registry.All.Select(n => n.Name));
        Assert.Contains(errors.Messages, m => m.Contains("no key", StringComparison.Ordinal));
    }

    private static readonly NamespaceConfig[] ThreeNamespaceSeed =
        [new NamespaceConfig { Name = "orders" }, new NamespaceConfig { Name = "carts" }, new NamespaceConfig { Name = "users" }];

    /// <summary>
    /// Seeds <see cref="ThreeNamespaceSeed"/> through a broker that takes two records and refuses the third, as a
    /// process killed part-way would leave it. Returns the names of the seed this instance applied.
    /// </summary>
    private async Task<IReadOnlyList<string>> SeedPartWayAsync(ControlPlane plane)
    {
        _kafka.PushRequestErrors(KafkaApi.Produce, 0, 0, 29); // TOPIC_AUTHORIZATION_FAILED: not retried
        await Assert.ThrowsAnyAsync<KafkaException>(() => plane.SeedIfEmptyAsync(ThreeNamespaceSeed));
        var applied = plane.Registry.All.Select(n => n.Name).ToList();
        Assert.NotEmpty(applied);
        Assert.NotEqual(ThreeNamespaceSeed.Length, applied.Count);
        return applied;
    }

    [Fact]
    public async Task Put_KafkaAway_FailsWithinTheTimeoutNotLibrdkafkasFiveMinutes()
    {
        var options = (await EnsureTopicAsync()) with { Timeout = TimeSpan.FromSeconds(2) };
        await using var plane = new ControlPlane(options, new NamespaceRegistry());
        await plane.StartAsync();
        _kafka.SetBrokerDown(1);

        // Bounded for the test only: before, the change waited out librdkafka's default message timeout, 300 s.
        var error = await Assert.ThrowsAsync<ProduceException<string, byte[]?>>(() => plane.PutAsync(new NamespaceConfig { Name = "orders" }).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(ErrorCode.Local_MsgTimedOut, error.Error.Code);
        Assert.False(plane.Registry.TryGet("orders", out _));
    }

    [Fact]
    public async Task Put_AfterTheProducerFailedForGood_TheNextChangeIsWrittenThroughANewOne()
    {
        var options = await EnsureTopicAsync();
        // The producer's first InitProducerId meets CLUSTER_AUTHORIZATION_FAILED (once): librdkafka fails it for good, and
        // it refused every change after, until the process restarted.
        _kafka.PushRequestErrors(KafkaApi.InitProducerId, 31);
        await using var plane = new ControlPlane(options, new NamespaceRegistry());
        await plane.StartAsync();
        await Assert.ThrowsAnyAsync<KafkaException>(() => plane.PutAsync(new NamespaceConfig { Name = "refused" }));

        await plane.PutAsync(new NamespaceConfig { Name = "orders" });

        Assert.True(plane.Registry.TryGet("orders", out _));
        Assert.False(plane.Registry.TryGet("refused", out _));
    }

    private async Task<ControlPlaneOptions> EnsureTopicAsync()
    {
        var options = new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers, Timeout = TimeSpan.FromSeconds(20) };
        await _kafka.EnsureAsync([options.TopicSpec]);
        return options;
    }

    /// <summary>An instance whose follower stalls inside applying a record while <paramref name="lagging"/> is reset.</summary>
    private async Task<ControlPlane> StartLaggingAsync(ManualResetEventSlim lagging)
    {
        var registry = new NamespaceRegistry();
        registry.Changed += (_, _) => lagging.Wait(ReloadDeadline);
        return await StartAsync(registry: registry);
    }

    /// <summary>
    /// <paramref name="b"/>, stalled before A's namespace 'a' takes topic 'shared', puts 'b' onto 'shared': its own check
    /// passes, and every follower rejects the record. Returns the put's failure.
    /// </summary>
    private static async Task<NamespaceConfigException> PutBehindAsync(ControlPlane a, ControlPlane b, ManualResetEventSlim lagging)
    {
        lagging.Reset();
        await a.PutAsync(new NamespaceConfig { Name = "z" });
        await Eventually.WaitUntilAsync(() => b.Registry.TryGet("z", out _), ReloadDeadline, "B to start applying z (and stall there)");
        await a.PutAsync(new NamespaceConfig { Name = "a", Topic = "shared" });
        var put = b.PutAsync(new NamespaceConfig { Name = "b", Topic = "shared" });
        lagging.Set();
        return await Assert.ThrowsAsync<NamespaceConfigException>(() => put);
    }

    /// <summary>The last record of each key in <paramref name="topic"/>, in the order of those records.</summary>
    private List<(string Key, byte[]? Value)> LastPerKey(string topic)
    {
        using var consumer = new ConsumerBuilder<string, byte[]?>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = $"compactor-{Guid.NewGuid():N}" }).Build();
        var partition = new TopicPartition(topic, 0);
        var end = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var last = new Dictionary<string, (long Offset, byte[]? Value)>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + ReloadDeadline;
        for (long next = 0; next < end;)
        {
            Assert.True(DateTime.UtcNow < deadline, $"read {next} of {end} records of {topic}");
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } record)
            {
                last[record.Message.Key] = (record.Offset.Value, record.Message.Value);
                next = record.Offset.Value + 1;
            }
        }

        return [.. last.OrderBy(l => l.Value.Offset).Select(l => (l.Key, l.Value.Value))];
    }

    private async Task ProduceRawAsync(string topic, string? key, byte[]? value)
    {
        using var producer = new ProducerBuilder<string, byte[]?>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers }).Build();
        await producer.ProduceAsync(topic, new Message<string, byte[]?> { Key = key!, Value = value });
    }

    private async Task<ControlPlane> StartAsync(ILogger<ControlPlane>? logger = null, NamespaceRegistry? registry = null)
    {
        var options = await EnsureTopicAsync();
        var plane = new ControlPlane(options, registry ?? new NamespaceRegistry(), logger);
        await plane.StartAsync();
        Assert.True(plane.IsLoaded);
        return plane;
    }

    /// <summary>Counts what the control plane logs as an error or worse.</summary>
    private sealed class ErrorCountingLogger : ILogger<ControlPlane>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public IReadOnlyCollection<string> Messages => _messages;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                _messages.Enqueue(formatter(state, exception));
                Interlocked.Increment(ref _count);
            }
        }
    }
}
