using System.Diagnostics;
using Wal.Kafka.Embedded;
using Wal.Streams.TestHost;

namespace Wal.Streams.Tests;

/// <summary>
/// Instances join, stop without committing, and die by SIGKILL while records flow; afterwards every record was processed
/// at least once and every store holds exactly the expected state. Each rebalance on the mock cluster takes up to a session timeout (6 s).
/// </summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task TwoInstances_AddOneUnderLoadThenStopTheFirstWithoutCommitting_NothingLostStateExact()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var load = new SequenceLoad(cluster, "failover-app", keys: 20, perKey: 150);
        load.CreateTopics(partitions: 4);
        var config = KafkaTestKit.Config(cluster, "failover-app") with { CommitInterval = TimeSpan.FromSeconds(1) };
        await using var first = new KafkaStreams(SequenceCountingProcessor.Topology(SequenceLoad.Input, SequenceLoad.Output), config);
        await using var second = new KafkaStreams(SequenceCountingProcessor.Topology(SequenceLoad.Input, SequenceLoad.Output), config with { StateDirectory = config.StateDirectory + "-2" });

        await first.StartAsync();
        var producing = load.ProduceAsync(TimeSpan.FromMilliseconds(50));
        await KafkaTestKit.WaitForAsync(() => first.State == KafkaStreamsState.Running, "the first instance to run");
        await second.StartAsync();
        await KafkaTestKit.WaitForAsync(() => second.State == KafkaStreamsState.Running && first.State == KafkaStreamsState.Running, "both instances to run");
        await first.AbandonAsync();
        await producing;
        await load.AssertEveryRecordProcessedAsync();
        await second.CloseAsync();

        await load.AssertExactStoreStateAsync();
    }

    [Fact]
    public async Task ThreadFailsOnARecord_LeavesTheGroupAtOnce_TheOtherInstanceTakesItsPartitions()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "leave-app", partitions: 2);
        // A failed thread's consumer goes on sending heartbeats until its poll interval runs out,
        // far past the test's deadline: its partitions reach the healthy instance in time only if
        // the thread leaves the group itself. (The mock cluster then waits most of a session
        // timeout, 10 s here, before it hands them over.)
        var config = KafkaTestKit.Config(cluster, "leave-app") with { SessionTimeout = TimeSpan.FromSeconds(10), MaxPollInterval = TimeSpan.FromSeconds(120) };
        await using var failing = new KafkaStreams(FailingTopology(), config);
        await using var healthy = new KafkaStreams(CountingProcessor.Topology("in", "out"), config with { StateDirectory = config.StateDirectory + "-2" });

        await failing.StartAsync();
        await healthy.StartAsync();
        await KafkaTestKit.WaitForAsync(() => failing.State == KafkaStreamsState.Running && healthy.State == KafkaStreamsState.Running, "both instances to run");
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 1));
        await KafkaTestKit.WaitForAsync(() => failing.State == KafkaStreamsState.Error, "the failing instance's Error state");
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Int64, r => r.Select(x => x.Message.Key).Distinct().Count() >= 10, TimeSpan.FromSeconds(30));

        Assert.Contains("this instance cannot process", failing.FatalError?.ToString(), StringComparison.Ordinal);
        Assert.Equal(10, output.Select(r => r.Message.Key).Distinct().Count());
    }

    // Same source and store as the counting topology, but its processor throws on every record.
    private static Topology FailingTopology() =>
        new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("count", () => new ThrowingProcessor(), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore(CountingProcessor.StoreName), "count")
            .AddSink("sink", "out", Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Int64, "count")
            .Build();

    [Fact]
    public async Task ThreadFailsWhileRegisteringATasksSecondChangelog_EndsInErrorAndClosesWithoutThrowing()
    {
        // The task's first changelog was taken for restoring, and the second one's end could not be read. The failed
        // thread's clean-up then asked the restore consumer to unassign the first, which it had never been assigned;
        // that threw out of the clean-up, so the thread never left the group, closed its stores or reported the failure.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 1);
        cluster.CreateTopic("out", 1);
        cluster.CreateTopic("register-app-first-changelog", 1);
        cluster.CreateTopic("register-app-second-changelog", 1);
        await KafkaTestKit.ProduceAsync(cluster, "register-app-first-changelog", [("k", "v")]);
        var topology = new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("count", () => new CountingProcessor(storeName: "first"), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore("first"), "count")
            .AddStateStore(Stores.InMemoryKeyValueStore("second"), "count")
            .AddSink("sink", "out", Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Int64, "count")
            .Build();
        // The brokers refuse the second changelog's metadata (topic authorization failed), so its end cannot be read.
        cluster.SetTopicError("register-app-second-changelog", 29);
        await using var streams = new KafkaStreams(topology, KafkaTestKit.Config(cluster, "register-app"));

        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Error, "the instance to report its failed thread");
        await streams.CloseAsync();

        Assert.NotNull(streams.FatalError);
        Assert.Equal(KafkaStreamsState.Error, streams.State);
    }

    [Fact]
    public async Task ThreeInstances_KillOneProcessWithSigkillUnderLoad_NothingLostStateExact()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var load = new SequenceLoad(cluster, "sigkill-app", keys: 20, perKey: 150);
        load.CreateTopics(partitions: 6);
        var config = KafkaTestKit.Config(cluster, "sigkill-app") with { CommitInterval = TimeSpan.FromSeconds(1) };
        await using var first = new KafkaStreams(SequenceCountingProcessor.Topology(SequenceLoad.Input, SequenceLoad.Output), config);
        await using var second = new KafkaStreams(SequenceCountingProcessor.Topology(SequenceLoad.Input, SequenceLoad.Output), config with { StateDirectory = config.StateDirectory + "-2" });
        using var host = TestHostProcess.Start(cluster.BootstrapServers, "sigkill-app", config.StateDirectory + "-3", SequenceLoad.Input, SequenceLoad.Output);

        await first.StartAsync();
        await second.StartAsync();
        await host.WaitForRunningAsync();
        var producing = load.ProduceAsync(TimeSpan.FromMilliseconds(50));
        await KafkaTestKit.WaitForAsync(
            () => first.State == KafkaStreamsState.Running && second.State == KafkaStreamsState.Running && host.OutputLines.Contains("RUNNING"),
            "all three instances to run");
        await Task.Delay(TimeSpan.FromSeconds(1));
        host.Kill();
        await producing;
        await load.AssertEveryRecordProcessedAsync();
        await first.CloseAsync();
        await second.CloseAsync();

        Assert.True(host.Killed);
        await load.AssertExactStoreStateAsync();
    }

    /// <summary>The counting topology in a child process (tests/Wal.Streams.TestHost), so it can die by SIGKILL.</summary>
    private sealed class TestHostProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];

        private TestHostProcess(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_lines)
                    {
                        _lines.Add(e.Data);
                    }
                }
            };
            _process.BeginOutputReadLine();
        }

        public IReadOnlyList<string> OutputLines
        {
            get
            {
                lock (_lines)
                {
                    return _lines.ToList();
                }
            }
        }

        public bool Killed { get; private set; }

        public static TestHostProcess Start(params string[] arguments)
        {
            var host = Path.Combine(AppContext.BaseDirectory, "Wal.Streams.TestHost.dll");
            Assert.True(File.Exists(host), $"The test host is missing at {host}.");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(host);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            return new TestHostProcess(Process.Start(start) ?? throw new InvalidOperationException("The test host did not start."));
        }

        public Task WaitForRunningAsync() =>
            KafkaTestKit.WaitForAsync(() => OutputLines.Contains("RUNNING") || _process.HasExited, "the test host to run");

        /// <summary>SIGKILL: no commit, no checkpoint, no leaving the group; the group notices after the session timeout.</summary>
        public void Kill()
        {
            Assert.False(_process.HasExited, "The test host exited before it could be killed.");
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
            Killed = true;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
        }
    }

    private sealed class ThrowingProcessor : Processor<string, string, string, long>
    {
        public override ValueTask ProcessAsync(Record<string, string> record) =>
            throw new InvalidOperationException($"this instance cannot process {record.Key}");
    }
}
