using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;

namespace Wal.Topology.Tests;

/// <summary>The topology host on the mock cluster: namespaces added and removed while it runs.</summary>
public sealed class WalTopologyHostTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private const int GroupAuthorizationFailed = 30;
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private readonly NamespaceRegistry _registry = new([Namespace("a")]);
    private readonly RecordingSink _sink = new();
    private readonly RefusableTopicProvisioner _topics;
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-host-{Guid.NewGuid():N}");
    private WalTopologyHost _host = null!;

    public WalTopologyHostTests() => _topics = new RefusableTopicProvisioner(_kafka);

    public async Task InitializeAsync()
    {
        _host = NewHost(_registry, "host-test", _stateDirectory);
        await _host.StartAsync();
    }

    private WalTopologyHost NewHost(
        NamespaceRegistry registry, string applicationId, string stateDirectory, bool persistentStores = false, ITopicProvisioner? topics = null,
        ILoggerFactory? loggers = null, TimeSpan? deliveryTimeout = null) => new(
        registry,
        _sink,
        new WalTopologyOptions { PersistentStores = persistentStores, DeliveryTimeout = deliveryTimeout ?? new WalTopologyOptions().DeliveryTimeout },
        new StreamsConfig
        {
            ApplicationId = applicationId,
            BootstrapServers = _kafka.BootstrapServers,
            StateDirectory = stateDirectory,
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        },
        topics ?? _topics,
        loggers,
        debounce: TimeSpan.FromMilliseconds(300));

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _kafka.Dispose();
        Directory.Delete(_stateDirectory, recursive: true);
    }

    [Fact]
    public async Task RegistryChanged_BurstOfNewNamespaces_OneRebuildThatConsumesThemAll()
    {
        await ProduceAsync("a", "a-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-1"), "a-1 delivered");

        foreach (var name in new[] { "b", "c", "d" })
        {
            _registry.Upsert(Namespace(name));
        }

        // Writers reach a namespace after it exists (the admin call creates its topics). Producing
        // before the rebuild would let the mock cluster auto-create wal.c with its default
        // partition count, not the namespace's, and the record could land in a partition that
        // the namespace's tasks do not have.
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the rebuild that adds b, c and d");
        await ProduceAsync("c", "c-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("c-1"), "c-1, in a namespace created after start, delivered");
        Assert.Equal(["a", "b", "c", "d"], _host.Namespaces);
        Assert.Equal(1, _host.Rebuilds);
        // The rebuild made the new namespaces' topics only: a's were made for the first build.
        Assert.Equal(2, _topics.Calls.Count);
        Assert.Equal(["wal.b", "wal.c", "wal.d"], _topics.Calls.Last().Where(t => t.StartsWith("wal.", StringComparison.Ordinal) && !t.EndsWith(".dlq", StringComparison.Ordinal)));
        await ProduceAsync("a", "a-2");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-2"), "a-2 delivered after the rebuild");
    }

    [Fact]
    public async Task RegistryChanged_NamespaceWhoseNameSortsFirst_OtherNamespacesKeepTheirTaskDirectoriesAndStores()
    {
        // Sub-topologies were numbered in name order: "0-first" made namespace a's tasks 1_0 and 1_1 where they had been 0_0
        // and 0_1, and every store of a was restored from its changelog's beginning on the rebuild (and its old directories
        // taken by the new namespace). Named after their namespace, a's tasks keep a_0 and a_1.
        var registry = new NamespaceRegistry([Namespace("a")]);
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-host-named-{Guid.NewGuid():N}");
        var application = Path.Combine(stateDirectory, "named-host-test");
        var host = NewHost(registry, "named-host-test", stateDirectory, persistentStores: true);
        try
        {
            await host.StartAsync();
            await WaitUntilAsync(() => host.State == KafkaStreamsState.Running, "the first topology to run");
            // RocksDB leaves a file it does not know alone; a store wiped for a restore from the beginning loses it.
            var markers = new[] { "a_0", "a_1" }.Select(task => Path.Combine(application, task, "rocksdb", WalTopology.TimerStoreName("a"), "kept")).ToList();
            foreach (var marker in markers)
            {
                await File.WriteAllTextAsync(marker, "local state of a");
            }

            registry.Upsert(Namespace("0-first"));
            await WaitUntilAsync(() => host.Rebuilds == 1 && host.State == KafkaStreamsState.Running, "the rebuild that adds 0-first to run");

            Assert.All(markers, marker => Assert.True(File.Exists(marker), $"{marker} outlived the rebuild"));
            Assert.Equal(
                ["0-first_0", "0-first_1", "a_0", "a_1"],
                Directory.GetDirectories(application).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            await host.DisposeAsync();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task RegistryChanged_NamespaceRemoved_RebuiltWithoutIt()
    {
        _registry.Upsert(Namespace("b"));
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the rebuild that adds b");
        Assert.Equal(KafkaStreamsState.Running, await RunningAsync());
        _registry.Remove("b");

        await WaitUntilAsync(() => _host.Rebuilds == 2, "the rebuild that drops b");
        Assert.Equal(["a"], _host.Namespaces);
        Assert.Equal(KafkaStreamsState.Running, await RunningAsync());
        Assert.False(_host.Failed.IsCompleted, "closing the streams for a rebuild is no failure");
    }

    [Fact]
    public async Task Failed_RebuildsCloseFailsItsFinalCommit_StaysIncompleteAndTheNewStreamsRun()
    {
        await ProduceAsync("a", "a-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-1"), "a-1 delivered");
        var closed = _host.Streams;
        // Every offset commit refused until the rebuild is done: the close's commit fails, which an at-least-once
        // run only redelivers after, so the old instance still ends NotRunning (its tasks closed dirty).
        _kafka.PushRequestErrors(KafkaApi.OffsetCommit, Enumerable.Repeat(GroupAuthorizationFailed, 50).ToArray());

        _registry.Upsert(Namespace("b"));
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the rebuild that adds b");
        _kafka.ClearRequestErrors(KafkaApi.OffsetCommit);

        Assert.Equal(KafkaStreamsState.NotRunning, closed.State);
        Assert.False(_host.Failed.IsCompleted, "a refused commit of the instance the rebuild closed is no failure of this host's");
        await ProduceAsync("a", "a-2");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-2"), "a-2 delivered by the rebuilt streams");
    }

    [Fact]
    public async Task RegistryChanged_TopicCreationRefused_RunningTopologyKeepsDelivering()
    {
        _topics.Refuse = true;
        _registry.Upsert(Namespace("b"));
        await WaitUntilAsync(() => _topics.Refusals >= 1, "the rebuild that adds b to be refused its topics");

        await ProduceAsync("a", "a-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-1"), "a-1 delivered while the rebuild is refused");
        Assert.Equal(KafkaStreamsState.Running, _host.Streams.State);
        Assert.Equal(["a"], _host.Namespaces);
        Assert.False(_host.Failed.IsCompleted, "a refused rebuild is retried, the running topology kept");

        _topics.Refuse = false;
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the retried rebuild that adds b");
        await ProduceAsync("b", "b-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("b-1"), "b-1 delivered after the retried rebuild");
    }

    [Fact]
    public async Task RegistryChanged_DelayedWritePendingAtTheRebuild_DeliveredOnceWhenDue()
    {
        await RunningAsync();
        var delay = TimeSpan.FromSeconds(8);
        var accepted = DateTimeOffset.UtcNow;
        await ProduceAsync("a", "a-later", delay);
        await WaitUntilAsync(() => ChangelogHoldsATimer("a"), "the delayed write's timer to reach its changelog");

        _registry.Upsert(Namespace("b"));
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the rebuild that adds b");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-later"), "the delayed write delivered after the rebuild");

        Assert.True(DateTimeOffset.UtcNow - accepted >= delay, "delivered no earlier than its delay");
        await ProduceAsync("a", "a-after");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-after"), "a later write delivered, so the partition moved on");
        Assert.Equal(1, _sink.Attempts["a-later"]);
    }

    [Fact]
    public async Task RegistryChanged_NamespaceDeletedWithAPendingTimerThenCreatedAgain_TimerFiresOnlyOnceItIsBack()
    {
        _registry.Upsert(Namespace("b"));
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the rebuild that adds b");
        // Produced while the group still settles, the write could be read after its delay and go out at once.
        await RunningAsync();
        await ProduceAsync("b", "b-later", TimeSpan.FromSeconds(6));
        await WaitUntilAsync(() => ChangelogHoldsATimer("b"), "b's delayed write to reach its timer changelog");

        _registry.Remove("b");
        await WaitUntilAsync(() => _host.Rebuilds == 2, "the rebuild that drops b");
        await RunningAsync();
        // Due after b-later: once it is delivered, b-later was due on a running topology that no longer has b.
        await ProduceAsync("a", "a-later", TimeSpan.FromSeconds(7));
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-later"), "a's delayed write, due after b's");
        Assert.False(_sink.Attempts.ContainsKey("b-later"), "a deleted namespace's timers wait with its kept topics");

        _registry.Upsert(Namespace("b"));
        await WaitUntilAsync(() => _host.Rebuilds == 3, "the rebuild that brings b back");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("b-later"), "the old timer fired once b is back");
        await ProduceAsync("b", "b-after");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("b-after"), "b's new writes delivered");
        Assert.Equal(1, _sink.Attempts["b-later"]);
    }

    [Fact]
    public async Task RegistryChanged_LastNamespaceDeleted_StreamsCloseAndItsRecordsWaitUntilItIsBack()
    {
        await ProduceAsync("a", "a-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-1"), "a-1 delivered");

        _registry.Remove("a");
        await WaitUntilAsync(() => _host.Rebuilds == 1, "the rebuild that drops the last namespace");
        Assert.Empty(_host.Namespaces);
        Assert.Null(_host.State);
        Assert.False(_host.Failed.IsCompleted, "running no namespaces is no failure");
        await ProduceAsync("a", "a-2");

        _registry.Upsert(Namespace("a"));
        await WaitUntilAsync(() => _host.Rebuilds == 2, "the rebuild that brings a back");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("a-2"), "a-2, written while a was gone, delivered once it is back");
    }

    [Fact]
    public async Task StartAsync_NoNamespaces_RunsNoStreamsUntilOneIsCreated()
    {
        var registry = new NamespaceRegistry([]);
        await using var host = NewHost(registry, "host-test-empty", Path.Combine(_stateDirectory, "empty"));

        await host.StartAsync();
        Assert.Null(host.State);
        Assert.Empty(host.Namespaces);

        registry.Upsert(Namespace("e"));
        await WaitUntilAsync(() => host.Rebuilds == 1, "the rebuild that adds the first namespace");
        await ProduceAsync("e", "e-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("e-1"), "e-1 delivered");
    }

    [Fact]
    public async Task StartAsync_NamespaceCreatedWhileTheFirstTopicsAreCreated_PickedUpOnceStarted()
    {
        // The control plane follows its topic while the host starts: a namespace another instance creates then (or the rest
        // of a seed another process publishes) reaches the registry after the host read it and before the host followed it.
        var registry = new NamespaceRegistry([Namespace("s")]);
        var topics = new RefusableTopicProvisioner(_kafka);
        topics.BeforeEnsure = () =>
        {
            topics.BeforeEnsure = null;
            registry.Upsert(Namespace("t"));
        };
        await using var host = NewHost(registry, "host-test-late", Path.Combine(_stateDirectory, "late"), topics: topics);

        await host.StartAsync();

        await WaitUntilAsync(() => host.Namespaces.Contains("t"), "t, created while the host started, to be consumed");
        await ProduceAsync("t", "t-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("t-1"), "t-1 delivered");
    }

    [Fact]
    public async Task RegistryChanged_RebuildsStartFailsAndTheChangeIsUndone_TopologyRunsAgain()
    {
        var registry = new NamespaceRegistry([Namespace("u")]);
        var stateDirectory = Path.Combine(_stateDirectory, "undone");
        var logs = new RecordingLoggers();
        await using var host = NewHost(registry, "host-test-undone", stateDirectory, loggers: logs);
        await host.StartAsync();
        await WaitUntilAsync(() => host.State == KafkaStreamsState.Running, "the first topology to run");
        // Between the close and the next start the state directory is free: another instance started on it then takes it
        // (any failure of that start would do), and meanwhile the operator takes the new namespace back.
        FileStream? taken = null;
        host.Streams.StateChanged += (_, e) =>
        {
            if (e.NewState == KafkaStreamsState.NotRunning)
            {
                taken = new FileStream(Path.Combine(stateDirectory, "host-test-undone", ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                registry.Remove("v");
            }
        };

        registry.Upsert(Namespace("v"));
        await WaitUntilAsync(() => logs.Contains("Could not rebuild the topology"), "the rebuild's start to be refused the state directory");
        await taken!.DisposeAsync();

        await WaitUntilAsync(() => host.State == KafkaStreamsState.Running, "the topology of u to run again");
        await ProduceAsync("u", "u-1");
        await WaitUntilAsync(() => _sink.Delivered.ContainsKey("u-1"), "u-1 delivered");
        Assert.Equal(["u"], host.Namespaces);
    }

    [Fact]
    public async Task RegistryChanged_WhileEveryNamespacesTargetHangs_OldInstanceClosesAfterTheAttemptInFlight()
    {
        // Six namespaces of two partitions, twelve tasks on one stream thread, each with a write for a target that accepts
        // and never answers: every attempt takes the delivery timeout.
        var attempt = TimeSpan.FromSeconds(3);
        string[] names = ["h1", "h2", "h3", "h4", "h5", "h6"];
        var registry = new NamespaceRegistry([.. names.Select(Namespace)]);
        await using var host = NewHost(registry, "host-test-hung", Path.Combine(_stateDirectory, "hung"), deliveryTimeout: attempt);
        await host.StartAsync();
        await WaitUntilAsync(() => host.State == KafkaStreamsState.Running, "the first topology to run");
        _sink.Hang = true;
        foreach (var name in names)
        {
            for (var i = 0; i < 4; i++)
            {
                await ProduceAsync(name, $"{name}-{i}");
            }
        }

        // Once every namespace has had a hung attempt, every task holds writes and soon a retry: each pass of the thread,
        // processing then punctuating, takes an attempt of each.
        await WaitUntilAsync(() => _sink.Attempts.Keys.Select(id => id.Split('-')[0]).Distinct().Count() == names.Length, "a hung attempt in every namespace");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        registry.Upsert(Namespace("h7"));
        await WaitUntilAsync(() => host.Rebuilds == 1, "the rebuild that adds h7");

        // The close waits for the attempt in flight and commits; the rest of the pass (each task's write, then each task's
        // retry) is the next instance's. Before, the close waited for a whole pass of hung attempts, every namespace stopped
        // (21 s here; about 5 s now). The bound is a deadline, the attempt in flight plus room for a loaded machine, well
        // short of a pass.
        Assert.True(clock.Elapsed < 4 * attempt, $"the rebuild took {clock.Elapsed.TotalSeconds:0.0} s against a hung target");
    }

    [Fact]
    public async Task Failed_StreamThreadStoppedByAnUnclassifiedError_CompletesWithThatError()
    {
        // The dispatcher classifies every exception of a sink but this one, which therefore stops the stream thread.
        _sink.Throw = new OutOfMemoryException("sink out of memory");
        await ProduceAsync("a", "a-1");

        var failed = await _host.Failed.WaitAsync(Deadline);

        Assert.Equal(KafkaStreamsState.Error, _host.Streams.State);
        Assert.Same(_sink.Throw, failed.GetBaseException());
    }

    private static NamespaceConfig Namespace(string name) => new()
    {
        Name = name,
        Partitions = 2,
        DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
    };

    private async Task<KafkaStreamsState> RunningAsync()
    {
        await WaitUntilAsync(() => _host.Streams.State == KafkaStreamsState.Running, "the rebuilt streams to run");
        return _host.Streams.State;
    }

    private bool ChangelogHoldsATimer(string ns)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = "changelog-probe" }).Build();
        var changelog = $"host-test-{WalTopology.TimerStoreName(ns)}-changelog";
        return Enumerable.Range(0, 2).Any(p => consumer.QueryWatermarkOffsets(new TopicPartition(changelog, p), TimeSpan.FromSeconds(5)).High > 0);
    }

    private Task ProduceAsync(string ns, string id, TimeSpan? delay = null) => MemcachedLogEntries.ProduceAsync(_kafka.BootstrapServers, ns, id, delay);

    private static Task WaitUntilAsync(Func<bool> condition, string what) => Eventually.WaitUntilAsync(condition, Deadline, what);

    private sealed class RecordingSink : ISink
    {
        public ConcurrentDictionary<string, Delivery> Delivered { get; } = new();

        public ConcurrentDictionary<string, int> Attempts { get; } = new();

        public Exception? Throw { get; set; }

        /// <summary>Every delivery waits until the caller gives up, as a target that accepts and never answers.</summary>
        public bool Hang { get; set; }

        public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Attempts.AddOrUpdate(delivery.Id, 1, (_, n) => n + 1);
            if (Throw is { } error)
            {
                throw error;
            }

            if (Hang)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            Delivered[delivery.Id] = delivery;
            return DeliveryResult.Delivered;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Keeps every message logged, to wait for one.</summary>
    private sealed class RecordingLoggers : ILoggerFactory, ILogger
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public bool Contains(string text) => _messages.Any(m => m.Contains(text, StringComparison.Ordinal));

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
