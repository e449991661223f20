using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams.TestDriver;
using Wal.Topology.Dispatch;
using Wal.Topology.Mutations;
using Wal.Topology.State;

namespace Wal.Topology.Tests;

/// <summary>Mutations that must not stop the stream thread, hold it too long, or leave chunks behind.</summary>
public sealed class MutationRobustnessTests : IDisposable
{
    private const string Ns = "kv";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ScriptedSink _sink = new();
    private readonly NamespaceRegistry _registry;
    private TopologyTestDriver _driver;
    private TestInputTopic<byte[], byte[]> _log;
    private TestOutputTopic<byte[], byte[]> _deadLetters;

    public MutationRobustnessTests()
    {
        _registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = Ns,
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
            MutationExpiry = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)),
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                Multiplier = 2,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                MaxAttempts = 3,
            },
        }]);
        (_driver, _log, _deadLetters) = Build(new WalTopologyOptions { PersistentStores = true, TimerTick = TimeSpan.FromMilliseconds(100) });
    }

    public void Dispose() => _driver.Dispose();

    // A punctuation stops firing timers after MaxTimerFiringTime, as the dispatch's does: a slow
    // target must not hold the stream thread, and every other namespace on it, for 2,000 retries.
    [Fact]
    public async Task MutationRetries_OnePunctuationStopsAfterMaxTimerFiringTime()
    {
        _driver.Dispose();
        (_driver, _log, _deadLetters) = Build(new WalTopologyOptions
        {
            PersistentStores = true,
            TimerTick = TimeSpan.FromMilliseconds(100),
            MaxTimerFiringTime = TimeSpan.FromSeconds(1),
        });
        _sink.Otherwise = DeliveryResult.Retriable("cluster down");
        for (var i = 0; i < 8; i++)
        {
            await ChunksAsync($"h{i}", 0);
            await MarkerAsync($"h{i}", 1); // first apply fails at once; retry due in 100 ms
        }

        Assert.Equal(8, _sink.Calls.Count);
        _sink.WhileDelivering = _ => Thread.Sleep(300); // a target that takes 300 ms to answer each retry

        var clock = Stopwatch.StartNew();
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100)); // one punctuation
        var retried = _sink.Calls.Count - 8;

        Assert.True(retried <= 4, $"one punctuation fired {retried} retries and held the thread {clock.Elapsed.TotalSeconds:0.0} s (MaxTimerFiringTime 1 s)");
    }

    // Entries the ingress refuses, written to the topic around it: a thrown exception would fail the
    // stream thread on every restart, so each goes to the dead-letter topic with its reason.
    [Theory]
    [InlineData("chunk", "a mutation chunk without a request_id")]
    [InlineData("marker", "a completion marker without a request_id")]
    [InlineData("empty-marker", "a completion marker with chunk_count 0")]
    public async Task MalformedMutationEntry_IsDeadLetteredWithItsReason(string kind, string reason)
    {
        var entry = new LogEntry { Id = kind, Namespace = Ns, AcceptedAtMs = Start.ToUnixTimeMilliseconds() };
        if (kind == "chunk")
        {
            entry.Chunk = Chunk("", 0);
        }
        else
        {
            entry.Completion = new MutationCompletion { Namespace = Ns, RequestId = kind == "marker" ? "" : "e", ChunkCount = kind == "marker" ? 1u : 0u };
        }

        await _log.PipeInputAsync(Encoding.UTF8.GetBytes("x"), entry.ToByteArray());

        var dead = _deadLetters.ReadRecord();
        Assert.Equal(entry.ToByteArray(), dead.Value);
        Assert.Equal(reason, Encoding.UTF8.GetString(dead.Headers.GetLastBytes(DeadLetterHeaders.Error)));
        Assert.Empty(_sink.Calls);
    }

    // The apply's budget is the delivery timeout per chunk; CancelAfter takes at most 2^32-2 ms
    // (about 49.7 days), and 1 h x 1,200 chunks is 50 days (as 5 s x 858,994 chunks would be).
    [Fact]
    public async Task MutationWhoseTimeoutBudgetPassesTheLongestTimer_IsAppliedNotThrown()
    {
        _driver.Dispose();
        (_driver, _log, _deadLetters) = Build(new WalTopologyOptions
        {
            PersistentStores = true,
            TimerTick = TimeSpan.FromMilliseconds(100),
            DeliveryTimeout = TimeSpan.FromHours(1),
        });
        const uint count = 1_200;
        for (var s = 0u; s < count; s++)
        {
            await ChunksAsync("big", s);
        }

        var thrown = await Record.ExceptionAsync(async () => await MarkerAsync("big", count));

        Assert.Null(thrown);
        Assert.Equal((int)count, _sink.Calls.Count);
    }

    // The two stores' changelogs are separate partitions, and a crash keeps a prefix of each: a
    // restore may bring back an applied mutation's progress without the deletes of its chunks.
    // Forgetting the progress deletes them too, or nothing ever would.
    [Fact]
    public async Task ChunksLeftBehindByAnAppliedMutation_AreDeletedWhenItsProgressIsForgotten()
    {
        await ChunksAsync("o1", 0, 1);
        await MarkerAsync("o1", 2);
        Assert.Equal(2, _sink.Calls.Count);
        Assert.Equal(0, StoredChunks());
        // As a restore finds it when the chunk store's changelog lost the apply's tombstones.
        var chunks = _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns));
        chunks.Put(ChunkKey.Encode("o1", 0), Chunk("o1", 0).ToByteArray());
        chunks.Put(ChunkKey.Encode("o1", 1), Chunk("o1", 1).ToByteArray());
        await ChunksAsync("o1", 1); // the replayed input record: ignored (Applied)

        for (var i = 0; i < 7; i++)
        {
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10)); // past the applied retention (60 s)
        }

        Assert.Null(Progress("o1"));
        Assert.Equal(0, StoredChunks());
    }

    private (TopologyTestDriver Driver, TestInputTopic<byte[], byte[]> Log, TestOutputTopic<byte[], byte[]> DeadLetters) Build(WalTopologyOptions options)
    {
        var driver = new TopologyTestDriver(WalTopology.Build(_registry, _sink, options), initialWallClockTime: Start);
        return (
            driver,
            driver.CreateInputTopic("wal.kv", Serializers.ByteArray, Serializers.ByteArray),
            driver.CreateOutputTopic("wal.kv.dlq", Deserializers.ByteArray, Deserializers.ByteArray));
    }

    private async Task ChunksAsync(string requestId, params uint[] sequences)
    {
        foreach (var sequence in sequences)
        {
            await PipeAsync(new LogEntry { Id = $"{requestId}/{sequence}", Namespace = Ns, Chunk = Chunk(requestId, sequence), AcceptedAtMs = Start.ToUnixTimeMilliseconds() });
        }
    }

    private static MutationChunk Chunk(string requestId, uint sequence) => new()
    {
        Namespace = Ns,
        RequestId = requestId,
        Sequence = sequence,
        Table = $"table-{sequence % 2}",
        Put = new Put { Key = ByteString.CopyFromUtf8($"key-{sequence}"), Value = ByteString.CopyFromUtf8($"value-{sequence}") },
        Version = 1000 + sequence,
    };

    private MutationProgress? Progress(string requestId) =>
        _driver.GetKeyValueStore(WalTopology.MutationStoreName(Ns)).Get(MutationKeys.Progress(requestId)) is { } bytes ? MutationProgress.Parser.ParseFrom(bytes) : null;

    private Task MarkerAsync(string requestId, uint chunkCount) =>
        PipeAsync(new LogEntry
        {
            Id = $"{requestId}/complete",
            Namespace = Ns,
            Completion = new MutationCompletion { Namespace = Ns, RequestId = requestId, ChunkCount = chunkCount },
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
        });

    private async Task PipeAsync(LogEntry entry)
    {
        var requestId = entry.BodyCase == LogEntry.BodyOneofCase.Chunk ? entry.Chunk.RequestId : entry.Completion.RequestId;
        await _log.PipeInputAsync(Encoding.UTF8.GetBytes(requestId), entry.ToByteArray());
    }

    private int StoredChunks()
    {
        var count = 0;
        using var scan = _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Range(null, null);
        while (scan.MoveNext())
        {
            count++;
        }

        return count;
    }

    private static string Header(Headers headers, string name) => Encoding.UTF8.GetString(headers.GetLastBytes(name));
}
