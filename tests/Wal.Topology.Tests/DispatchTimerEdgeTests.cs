using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams.TestDriver;

namespace Wal.Topology.Tests;

/// <summary>Dispatch's timers at their edges: entries nested to protobuf's limit, accept times ahead of this clock, ticks cut short.</summary>
public sealed class DispatchTimerEdgeTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ScriptedSink _sink = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<byte[], byte[]> _log;
    private readonly TestOutputTopic<byte[], byte[]> _deadLetters;

    public DispatchTimerEdgeTests()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "demo",
            MaxDelay = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                Multiplier = 2,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                MaxAttempts = 3,
            },
        }]);
        var topology = WalTopology.Build(registry, _sink, new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100) });
        _driver = new TopologyTestDriver(topology, initialWallClockTime: Start);
        _log = _driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray);
        _deadLetters = _driver.CreateOutputTopic("wal.demo.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
    }

    public void Dispose() => _driver.Dispose();

    // A target carrying unknown fields nested as deep as a top-level parse allows (the ingress keeps a request's
    // unknown fields): the entry parses from the log, but one level deeper, inside a timer's PendingDelivery, it does not.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EntryNestedToTheParseLimit_DelayedOrRetried_DoesNotPoisonTheTimerStore(bool delayed)
    {
        var entry = DeepEntry("deep");
        if (delayed)
        {
            entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        }
        else
        {
            _sink.Then(DeliveryResult.Retriable("target down"));
        }

        await PipeAsync(entry);
        await PipeAsync(Later("other", TimeSpan.FromSeconds(1)));

        var thrown = await Record.ExceptionAsync(async () => await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(2)));

        Assert.Null(thrown);
        Assert.Contains(_sink.Calls, c => c.Id == "other");
        Assert.Contains(_sink.Calls, c => c.Id == "deep");
    }

    // No schedule means "deliver as soon as possible"; an accept time ahead of this host's clock (a skewed ingress host)
    // must not hold it back until then.
    [Fact]
    public async Task EntryWithoutASchedule_AcceptedAheadOfThisClock_IsDeliveredAtOnce()
    {
        await PipeAsync(Entry("skewed", Start.AddHours(6)));

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Contains(_sink.Calls, c => c.Id == "skewed");
    }

    // max_delay is one hour; an entry stamped far ahead must not wait longer than now + max_delay.
    [Fact]
    public async Task DelayedEntry_AcceptedFarAheadOfThisClock_WaitsNoLongerThanMaxDelay()
    {
        var entry = Entry("far", Start.AddDays(30));
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        await PipeAsync(entry);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromHours(1).Add(TimeSpan.FromSeconds(2)));

        Assert.Contains(_sink.Calls, c => c.Id == "far");
    }

    // Small batches, a firing time that allows one timer, retries landing before, at and after the batch's last due time:
    // every entry must still be delivered.
    [Theory]
    [InlineData(1, 1_000)]
    [InlineData(2, 1_000)]
    [InlineData(3, 1)]
    [InlineData(2_000, 1)]
    public async Task SlicedTicks_WithRetries_DeliverEveryEntry(int maxPerTick, int firingMs)
    {
        var sink = new ScriptedSink();
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "sliced",
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1)),
                Multiplier = 1,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(300)),
                MaxAttempts = 50,
                Jitter = 1,
            },
        }]);
        var options = new WalTopologyOptions
        {
            PersistentStores = false,
            TimerTick = TimeSpan.FromMilliseconds(10),
            MaxTimersPerTick = maxPerTick,
            MaxTimerFiringTime = TimeSpan.FromMilliseconds(firingMs),
        };
        using var driver = new TopologyTestDriver(WalTopology.Build(registry, sink, options), initialWallClockTime: Start);
        var log = driver.CreateInputTopic("wal.sliced", Serializers.ByteArray, Serializers.ByteArray);
        var random = new Random(7);
        var attempts = new Dictionary<string, int>();
        sink.WhileDelivering = d =>
        {
            attempts[d.Id] = attempts.GetValueOrDefault(d.Id) + 1;
            if (firingMs == 1)
            {
                var until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 500;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
                {
                }
            }
        };
        for (var i = 0; i < 60; i++)
        {
            sink.Then(random.Next(3) == 0 ? DeliveryResult.Retriable("x") : DeliveryResult.Delivered);
        }

        var ids = Enumerable.Range(0, 40).Select(i => $"e{i:D2}").ToList();
        foreach (var id in ids)
        {
            var entry = Entry(id, Start);
            entry.Namespace = "sliced";
            entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(random.Next(4) * 50)) };
            await log.PipeInputAsync(Encoding.UTF8.GetBytes(id), entry.ToByteArray());
        }

        for (var i = 0; i < 400 && driver.GetKeyValueStore(WalTopology.TimerStoreName("sliced")).ApproximateCount > 0; i++)
        {
            await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(0, driver.GetKeyValueStore(WalTopology.TimerStoreName("sliced")).ApproximateCount);
        Assert.Equal(ids, sink.Calls.Select(c => c.Id).Distinct().Order(StringComparer.Ordinal));
    }

    private static LogEntry DeepEntry(string id)
    {
        var entry = Entry(id, Start);
        // Depth such that the entry parses at top level; found by probing.
        for (var depth = 120; depth > 0; depth--)
        {
            try
            {
                var candidate = entry.Clone();
                candidate.Target = Target.Parser.ParseFrom(Groups(depth, Entry("x", Start).Target.ToByteArray()));
                LogEntry.Parser.ParseFrom(new ReadOnlySpan<byte>(candidate.ToByteArray()));
                return candidate;
            }
            catch (InvalidProtocolBufferException)
            {
            }
        }

        throw new InvalidOperationException("no depth parses");
    }

    private static byte[] Groups(int depth, byte[] tail)
    {
        var start = WireFormat.MakeTag(15, WireFormat.WireType.StartGroup);
        var end = WireFormat.MakeTag(15, WireFormat.WireType.EndGroup);
        return [.. tail, .. Enumerable.Repeat((byte)start, depth), .. Enumerable.Repeat((byte)end, depth)];
    }

    private async Task PipeAsync(LogEntry entry) =>
        await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());

    private static LogEntry Later(string id, TimeSpan delay)
    {
        var entry = Entry(id, Start);
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(delay) };
        return entry;
    }

    private static LogEntry Entry(string id, DateTimeOffset acceptedAt) => new()
    {
        Id = id,
        Namespace = "demo",
        AcceptedAtMs = acceptedAt.ToUnixTimeMilliseconds(),
        Payload = ByteString.CopyFromUtf8("v-" + id),
        Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = id } },
    };
}
