using System.Text;
using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams.TestDriver;

namespace Wal.Streams.Tests;

/// <summary>
/// Where the test driver must do what the runtime does, so a topology that passes in CI behaves the
/// same in production. Where the runtime's side is not obvious, a test runs it on the mock cluster too.
/// </summary>
public sealed class DriverFidelityTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void HeadersOfARecordWritten_UnchangedWhenALaterProcessorAddsOne()
    {
        using var driver = new TopologyTestDriver(TwoHops(), initialWallClockTime: Start);
        driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "v");

        Assert.Equal(["hop=1"], Describe(driver.CreateOutputTopic("middle", Deserializers.Utf8, Deserializers.Utf8).ReadRecord().Headers));
        Assert.Equal(["hop=1", "hop=2"], Describe(driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Utf8).ReadRecord().Headers));
    }

    [Fact]
    public async Task HeadersOfARecordWritten_Runtime_AsTheDriverHasThem()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        foreach (var topic in new[] { "in", "middle", "out" })
        {
            cluster.CreateTopic(topic);
        }

        await KafkaTestKit.ProduceAsync(cluster, "in", [("k", "v")]);
        await using var streams = new KafkaStreams(TwoHops(), KafkaTestKit.Config(cluster, "two-hops"));
        await streams.StartAsync();
        var middle = await KafkaTestKit.ReadUntilAsync(cluster, "middle", Deserializers.Utf8, Deserializers.Utf8, r => r.Count >= 1);
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Utf8, r => r.Count >= 1);
        await streams.CloseAsync();

        Assert.Equal(["hop=1"], Describe(middle.Single().Message.Headers));
        Assert.Equal(["hop=1", "hop=2"], Describe(output.Single().Message.Headers));
    }

    [Fact]
    public void OneHeadersObjectPipedTwice_EachRecordReadWithHeadersOfItsOwn()
    {
        using var driver = new TopologyTestDriver(OneHop("seen"), initialWallClockTime: Start);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);
        var headers = new Headers { { "trace", "t"u8.ToArray() } };

        input.PipeInput(new Record<string, string>("k", "a", Start.ToUnixTimeMilliseconds(), headers));
        input.PipeInput(new Record<string, string>("k", "b", Start.ToUnixTimeMilliseconds(), headers));

        var records = driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Utf8).ReadRecordsToList();
        Assert.All(records, r => Assert.Equal(["trace=t", "seen=1"], Describe(r.Headers)));
        Assert.Equal(["trace=t"], Describe(headers));
    }

    [Fact]
    public void ValueBufferReusedAfterForward_OutputKeepsTheBytesSent()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("reuse", () => new ReusedBuffer(), "source")
            .AddSink("sink", "out", Serializers.Utf8, Serializers.ByteArray, "reuse")
            .Build();
        using var driver = new TopologyTestDriver(topology, initialWallClockTime: Start);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        input.PipeInput("k", "a");
        input.PipeInput("k", "b");

        Assert.Equal(["a", "b"], driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.ByteArray).ReadValuesToList().Select(Encoding.UTF8.GetString));
    }

    [Fact]
    public void CallersConfig_NextDriverWithTheSameApplicationStartsWithoutTheLastOnesState()
    {
        var root = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}");
        var config = new StreamsConfig { ApplicationId = "counting", BootstrapServers = "unused:9092", StateDirectory = root };
        try
        {
            using (var first = new TopologyTestDriver(CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config))
            {
                first.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeKeyValueList([new("k", "1"), new("k", "2")]);
            }

            Assert.False(Directory.Exists(Path.Combine(root, "counting")));
            using var second = new TopologyTestDriver(CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config);
            second.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "3");
            Assert.Equal(1, second.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int64).ReadValue());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Dispose_OneProcessorFailsToClose_EveryTaskClosedStateDeletedAndTheFailureThrown()
    {
        var secondClosed = false;
        var topology = new TopologyBuilder()
            .AddSource("a-source", Deserializers.Utf8, Deserializers.Utf8, "a")
            .AddProcessor("a-proc", () => new Lifecycle(close: () => throw new InvalidOperationException("close failed")), "a-source")
            .AddSource("b-source", Deserializers.Utf8, Deserializers.Utf8, "b")
            .AddProcessor("b-proc", () => new Lifecycle(close: () => secondClosed = true), "b-source")
            .AddStateStore(Stores.PersistentKeyValueStore("b-store"), "b-proc")
            .Build();
        var driver = new TopologyTestDriver(topology, initialWallClockTime: Start);
        var directory = driver.Config.StateDirectory;

        var error = Assert.Throws<StreamsException>(driver.Dispose);

        Assert.Contains("close failed", error.InnerException?.Message, StringComparison.Ordinal);
        Assert.True(secondClosed, "the second task's processor was never closed");
        Assert.False(Directory.Exists(directory), $"{directory} was left behind");
    }

    [Fact]
    public void Constructor_ProcessorFailsToInit_StoresClosedSoTheNextDriverOpensThem()
    {
        var root = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}");
        var config = new StreamsConfig { ApplicationId = "init", BootstrapServers = "unused:9092", StateDirectory = root };
        var failInit = true;
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("p", () => new Lifecycle(init: () => { if (failInit) { throw new InvalidOperationException("init failed"); } }), "source")
            .AddStateStore(Stores.PersistentKeyValueStore("s"), "p")
            .Build();
        try
        {
            Assert.ThrowsAny<Exception>(() => new TopologyTestDriver(topology, config));
            failInit = false;

            using var driver = new TopologyTestDriver(topology, config);
            Assert.NotNull(driver.GetKeyValueStore("s"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Constructor_StoreHeldByAnotherLiveDriver_FailsWithoutTouchingThatDriversState()
    {
        var root = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}");
        var config = new StreamsConfig { ApplicationId = "shared", BootstrapServers = "unused:9092", StateDirectory = root };
        try
        {
            using var first = new TopologyTestDriver(CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config);
            var input = first.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);
            input.PipeInput("k", "1");

            Assert.ThrowsAny<Exception>(() => new TopologyTestDriver(CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config));

            input.PipeInput("k", "2");
            Assert.Equal([1L, 2L], first.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int64).ReadValuesToList());
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public void Constructor_StateDirectoryOfARunningInstance_RefusedAndThatInstancesStateKept()
    {
        // A topology without persistent stores opens nothing RocksDB would refuse: without the runtime's lock, the
        // driver ran in the instance's directory and its dispose deleted the instance's task directories.
        var root = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}");
        var config = new StreamsConfig { ApplicationId = "running", BootstrapServers = "unused:9092", StateDirectory = root };
        var instanceTask = Directory.CreateDirectory(Path.Combine(root, "running", "0_0")).FullName;
        try
        {
            using (Wal.Streams.Internals.StateDirectoryLock.Acquire(Path.Combine(root, "running")))
            {
                var refused = Assert.Throws<StateDirectoryLockedException>(() =>
                {
                    using var driver = new TopologyTestDriver(CountingProcessor.Topology("in", "out"), config);
                });
                Assert.Equal(Path.Combine(root, "running"), refused.Directory);
            }

            Assert.True(Directory.Exists(instanceTask), "the running instance's task directory was deleted");
            using var afterTheInstanceStopped = new TopologyTestDriver(CountingProcessor.Topology("in", "out"), config);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public void RecordForwardedWithTimestampZero_StampedWithTheWallClock()
    {
        using var driver = new TopologyTestDriver(ZeroTimestamp(), initialWallClockTime: Start);
        driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "v", Start.AddDays(-1));

        Assert.Equal(Start.ToUnixTimeMilliseconds(), driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Utf8).ReadRecord().Timestamp);
    }

    [Fact]
    public async Task RecordForwardedWithTimestampZero_Runtime_StampedWhenProduced()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in");
        cluster.CreateTopic("out");
        await KafkaTestKit.ProduceAsync(cluster, "in", [("k", "v")]);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var streams = new KafkaStreams(ZeroTimestamp(), KafkaTestKit.Config(cluster, "zero-timestamp"));
        await streams.StartAsync();
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Utf8, r => r.Count >= 1);
        await streams.CloseAsync();

        Assert.InRange(output.Single().Message.Timestamp.UnixTimestampMs, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    [Fact]
    public void PipeInputValueOnly_ValueTypeKey_SentWithoutAKey()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Int32, Deserializers.Utf8, "in")
            .AddSink("sink", "out", Serializers.Int32, Serializers.Utf8, "source")
            .Build();
        var config = new StreamsConfig
        {
            ApplicationId = "keyless", BootstrapServers = "unused:9092",
            StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}"),
            DeserializationExceptionHandling = DeserializationExceptionHandling.LogAndContinue,
        };
        using var driver = new TopologyTestDriver(topology, config);

        driver.CreateInputTopic("in", Serializers.Int32, Serializers.Utf8).PipeInput("no key");

        // No key fails the Int32 key deserializer, as in the runtime, so the record is dead-lettered.
        Assert.Equal(["keyless-dead-letter"], driver.ProducedTopicNames);
    }

    [Fact]
    public void PartitionerChoosesAPartitionTheTopicLacks_RecordFails()
    {
        using var driver = new TopologyTestDriver(Partitioned(partition: 1));
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        var error = Assert.Throws<StreamsException>(() => input.PipeInput("k", "v"));

        Assert.Contains("chose partition 1 of topic 'out'", error.Message, StringComparison.Ordinal);
        Assert.Empty(driver.ProducedTopicNames);
    }

    [Fact]
    public async Task PartitionerChoosesAPartitionTheTopicLacks_Runtime_ThreadFails()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in");
        cluster.CreateTopic("out");
        await KafkaTestKit.ProduceAsync(cluster, "in", [("k", "v")]);
        await using var streams = new KafkaStreams(Partitioned(partition: 1), KafkaTestKit.Config(cluster, "stray-partition"));
        await streams.StartAsync();

        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Error, "the Error state");

        Assert.Contains("partition", streams.FatalError?.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    // librdkafka refuses, at Produce, a record whose key, value and headers with a record's largest framing (36 bytes)
    // come to more than message.max.bytes; the runtime's thread fails on it at every restart. A test must see that.
    [Fact]
    public void RecordOverTheProducersMessageMaxBytes_RecordFails()
    {
        var config = new StreamsConfig
        {
            ApplicationId = "inflate", BootstrapServers = "unused:9092",
            StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}"),
            AdditionalProducerConfig = new Dictionary<string, string> { ["message.max.bytes"] = "10000" },
        };
        using var driver = new TopologyTestDriver(Inflating(), config);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Int32);

        input.PipeInput("k", AtTheLimit);
        var error = Assert.Throws<StreamsException>(() => input.PipeInput("k", AtTheLimit + 1));

        Assert.Equal(ErrorCode.MsgSizeTooLarge, Assert.IsType<ProduceException<byte[]?, byte[]?>>(error.InnerException).Error.Code);
        Assert.Equal([AtTheLimit], driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.ByteArray).ReadValuesToList().Select(v => v.Length));
    }

    // librdkafka reads an integer setting as strtol does: spaces around it and a sign are taken. The runtime ran with
    // such a message.max.bytes; the driver's constructor threw FormatException.
    [Theory]
    [InlineData(" 10000")]
    [InlineData("10000 ")]
    [InlineData("+10000")]
    public void MessageMaxBytesWrittenAsLibrdkafkaTakesIt_LimitApplied(string setting)
    {
        var config = new StreamsConfig
        {
            ApplicationId = "inflate", BootstrapServers = "unused:9092",
            StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}"),
            AdditionalProducerConfig = new Dictionary<string, string> { ["message.max.bytes"] = setting },
        };
        using var driver = new TopologyTestDriver(Inflating(), config);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Int32);

        input.PipeInput("k", AtTheLimit);
        var error = Assert.Throws<StreamsException>(() => input.PipeInput("k", AtTheLimit + 1));

        Assert.Equal(ErrorCode.MsgSizeTooLarge, Assert.IsType<ProduceException<byte[]?, byte[]?>>(error.InnerException).Error.Code);
    }

    // A setting librdkafka refuses too ("1e4" reads as 1, below its minimum) fails the driver; but the constructor threw
    // after it had taken the state directory's lock, and kept it: every later driver of the application was refused.
    [Fact]
    public void Constructor_MessageMaxBytesItCannotRead_FailsAndLeavesTheStateDirectoryUnlocked()
    {
        var root = Path.Combine(Path.GetTempPath(), $"wal-driver-fidelity-{Guid.NewGuid():N}");
        var config = new StreamsConfig { ApplicationId = "unreadable", BootstrapServers = "unused:9092", StateDirectory = root };
        try
        {
            Assert.ThrowsAny<Exception>(() =>
            {
                using var refused = new TopologyTestDriver(
                    Inflating(), config with { AdditionalProducerConfig = new Dictionary<string, string> { ["message.max.bytes"] = "1e4" } });
            });

            using var next = new TopologyTestDriver(Inflating(), config);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public void RecordOverLibrdkafkasDefaultMessageMaxBytes_RecordFails()
    {
        using var driver = new TopologyTestDriver(Inflating());
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Int32);

        var error = Assert.Throws<StreamsException>(() => input.PipeInput("k", 1_000_000));

        Assert.Equal(ErrorCode.MsgSizeTooLarge, Assert.IsType<ProduceException<byte[]?, byte[]?>>(error.InnerException).Error.Code);
        Assert.Empty(driver.ProducedTopicNames);
    }

    [Fact]
    public async Task RecordOverTheProducersMessageMaxBytes_Runtime_ThreadFailsAfterTheRecordAtTheLimit()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in");
        cluster.CreateTopic("out");
        using (var producer = new ProducerBuilder<string, int>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            await producer.ProduceAsync("in", new Message<string, int> { Key = "k", Value = AtTheLimit });
            await producer.ProduceAsync("in", new Message<string, int> { Key = "k", Value = AtTheLimit + 1 });
        }

        var config = KafkaTestKit.Config(cluster, "inflate") with { AdditionalProducerConfig = new Dictionary<string, string> { ["message.max.bytes"] = "10000" } };
        await using var streams = new KafkaStreams(Inflating(), config);
        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Error, "the Error state");
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.ByteArray, r => r.Count >= 1);

        Assert.Equal(ErrorCode.MsgSizeTooLarge, Assert.IsType<ProduceException<byte[]?, byte[]?>>(streams.FatalError?.InnerException).Error.Code);
        Assert.Equal([AtTheLimit], output.Select(r => r.Message.Value.Length));
    }

    private static Topology TwoHops() => new TopologyBuilder()
        .AddSource("first", Deserializers.Utf8, Deserializers.Utf8, "in")
        .AddProcessor("hop1", () => new AddHeader("hop", "1"), "first")
        .AddSink("to-middle", "middle", Serializers.Utf8, Serializers.Utf8, "hop1")
        .AddSource("second", Deserializers.Utf8, Deserializers.Utf8, "middle")
        .AddProcessor("hop2", () => new AddHeader("hop", "2"), "second")
        .AddSink("to-out", "out", Serializers.Utf8, Serializers.Utf8, "hop2")
        .Build();

    private static Topology OneHop(string header) => new TopologyBuilder()
        .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
        .AddProcessor("tag", () => new AddHeader(header, "1"), "source")
        .AddSink("sink", "out", Serializers.Utf8, Serializers.Utf8, "tag")
        .Build();

    private static Topology ZeroTimestamp() => new TopologyBuilder()
        .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
        .AddProcessor("zero", () => new TimestampZero(), "source")
        .AddSink("sink", "out", Serializers.Utf8, Serializers.Utf8, "zero")
        .Build();

    private static Topology Partitioned(int partition) => new TopologyBuilder()
        .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
        .AddSink("sink", "out", Serializers.Utf8, Serializers.Utf8, new FixedPartition(partition), "source")
        .Build();

    // The largest value a record keyed "k" without headers may carry under message.max.bytes 10,000.
    private const int AtTheLimit = 10_000 - 36 - 1;

    // Forwards a value of as many bytes as the input says.
    private static Topology Inflating() => new TopologyBuilder()
        .AddSource("source", Deserializers.Utf8, Deserializers.Int32, "in")
        .AddProcessor("inflate", () => new Inflate(), "source")
        .AddSink("sink", "out", Serializers.Utf8, Serializers.ByteArray, "inflate")
        .Build();

    private static List<string> Describe(Headers headers) =>
        [.. headers.Select(h => $"{h.Key}={Encoding.UTF8.GetString(h.GetValueBytes())}")];

    private sealed class AddHeader(string key, string value) : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            record.Headers.Add(key, Encoding.UTF8.GetBytes(value));
            return Context.ForwardAsync(record);
        }
    }

    private sealed class Inflate : Processor<string, int, string, byte[]>
    {
        public override ValueTask ProcessAsync(Record<string, int> record) => Context.ForwardAsync(record.WithValue(new byte[record.Value]));
    }

    private sealed class ReusedBuffer : Processor<string, string, string, byte[]>
    {
        private readonly byte[] _buffer = new byte[1];

        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            _buffer[0] = (byte)record.Value[0];
            return Context.ForwardAsync(new Record<string, byte[]>(record.Key, _buffer, record.Timestamp));
        }
    }

    private sealed class TimestampZero : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record) =>
            Context.ForwardAsync(new Record<string, string>(record.Key, record.Value, 0));
    }

    private sealed class FixedPartition(int partition) : IStreamPartitioner<string, string>
    {
        public int Partition(string topic, string key, string value, int partitionCount) => partition;
    }

    private sealed class Lifecycle(Action? init = null, Action? close = null) : Processor<string, string, string, string>
    {
        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            init?.Invoke();
        }

        public override ValueTask ProcessAsync(Record<string, string> record) => default;

        public override void Close() => close?.Invoke();
    }
}
