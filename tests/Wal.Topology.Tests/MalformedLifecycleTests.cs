using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Streams.TestDriver;
using Wal.Topology.Dispatch;

namespace Wal.Topology.Tests;

/// <summary>Entries written around the ingress, whose lifecycle it would have refused.</summary>
public sealed class MalformedLifecycleTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ScriptedSink _sink = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<byte[], byte[]> _log;
    private readonly TestOutputTopic<byte[], byte[]> _deadLetters;

    public MalformedLifecycleTests()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "demo" }]);
        var topology = WalTopology.Build(registry, _sink, new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100) });
        _driver = new TopologyTestDriver(topology, initialWallClockTime: Start);
        _log = _driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray);
        _deadLetters = _driver.CreateOutputTopic("wal.demo.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
    }

    public void Dispose() => _driver.Dispose();

    // DispatchProcessor.ProcessAsync dead-letters only InvalidProtocolBufferException. A well-formed LogEntry whose
    // lifecycle delay is a non-normalized Duration (seconds and nanos of opposite signs) makes DueTime.FirstDueAtMs
    // throw (Duration.ToTimeSpan): the record fails the stream thread, again after every restart.
    [Fact]
    public async Task EntryWithANonNormalizedDelay_IsDeadLetteredNotThrown()
    {
        var entry = new LogEntry
        {
            Id = "bad-delay",
            Namespace = "demo",
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
            Payload = ByteString.CopyFromUtf8("x"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "k" } },
            Lifecycle = new Lifecycle { Delay = new Duration { Seconds = 1, Nanos = -5 } },
        };

        var thrown = await Record.ExceptionAsync(async () => await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray()));

        Assert.Null(thrown);
        var dead = _deadLetters.ReadRecord();
        Assert.Equal(entry.ToByteArray(), dead.Value);
        Assert.StartsWith("a malformed lifecycle", Encoding.UTF8.GetString(dead.Headers.GetLastBytes(DeadLetterHeaders.Error)), StringComparison.Ordinal);
        Assert.Empty(_sink.Calls);
    }
}
