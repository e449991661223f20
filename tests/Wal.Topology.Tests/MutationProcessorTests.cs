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

/// <summary>The mutation processor on the test driver (manual clock) with RocksDB stores and a scripted sink.</summary>
public sealed class MutationProcessorTests : IDisposable
{
    private const string Ns = "kv";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ScriptedSink _sink = new();
    private readonly NamespaceRegistry _registry;
    private TopologyTestDriver _driver;
    private TestInputTopic<byte[], byte[]> _log;
    private TestOutputTopic<byte[], byte[]> _deadLetters;

    // RocksDB stores and a 100 ms punctuation; a test that needs another setting rebuilds with it.
    private static readonly WalTopologyOptions Options = new() { PersistentStores = true, TimerTick = TimeSpan.FromMilliseconds(100) };

    public MutationProcessorTests()
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
        (_driver, _log, _deadLetters) = Build(Options);
    }

    public void Dispose() => _driver.Dispose();

    [Fact]
    public async Task Process_MarkerAfterChunks_AppliesEveryChunkInSequenceOrderToItsTable()
    {
        await ChunksAsync("m1", 0, 1, 2);
        Assert.Empty(_sink.Calls);

        await MarkerAsync("m1", 3);

        Assert.Equal(["m1/0", "m1/1", "m1/2"], _sink.Calls.Select(c => c.Id));
        var first = _sink.Calls[0];
        Assert.Equal("table-0", first.Target.Memcached.Cluster);
        Assert.Equal("key-0", first.Target.Memcached.Key);
        Assert.Equal("value-0", Encoding.UTF8.GetString(first.Payload.Span));
        Assert.Equal(1000, first.Version);
        Assert.Equal(0, StoredChunks());
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_MarkerBeforeChunks_WaitsForTheLastChunk()
    {
        await MarkerAsync("m2", 3);
        await ChunksAsync("m2", 0, 1);
        Assert.Empty(_sink.Calls);

        await ChunksAsync("m2", 2);

        Assert.Equal(["m2/0", "m2/1", "m2/2"], _sink.Calls.Select(c => c.Id));
    }

    [Fact]
    public async Task Process_OutOfOrderAndDuplicatedChunks_AppliesEachOnceInSequenceOrder()
    {
        await ChunksAsync("m3", 3, 1, 3, 0, 1);
        await MarkerAsync("m3", 4);
        Assert.Empty(_sink.Calls);

        await ChunksAsync("m3", 2);

        Assert.Equal(["m3/0", "m3/1", "m3/2", "m3/3"], _sink.Calls.Select(c => c.Id));
    }

    [Fact]
    public async Task Process_ChunkOrMarkerAfterApply_IsIgnored()
    {
        await ChunksAsync("m4", 0, 1);
        await MarkerAsync("m4", 2);
        Assert.Equal(2, _sink.Calls.Count);

        await ChunksAsync("m4", 1);
        await MarkerAsync("m4", 2);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, _sink.Calls.Count);
        Assert.Equal(0, StoredChunks());
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_ChunkStoredPastTheMarkersCount_DeadLetteredAsBeyondCountWhenTheMutationApplies_Once()
    {
        // A writer that contradicts itself: chunks 0, 1 and 2, each acknowledged, and a marker saying 2.
        await ChunksAsync("b1", 0, 1, 2);
        await MarkerAsync("b1", 2);

        Assert.Equal(["b1/0", "b1/1"], _sink.Calls.Select(c => c.Id));
        var dead = _deadLetters.ReadRecord();
        Assert.True(_deadLetters.IsEmpty);
        Assert.Equal(MutationDeadLetterHeaders.BeyondCount, Header(dead.Headers, DeadLetterHeaders.Reason));
        var mutation = DeadMutation.Parser.ParseFrom(dead.Value);
        Assert.Equal([2u], mutation.Chunks.Select(c => c.Sequence));
        Assert.Equal(2u, mutation.ChunkCount);
        Assert.Contains("past the completion marker's count of 2: no part of the mutation, which was applied without them", Header(dead.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal(MutationState.Applied, Progress("b1")!.State);

        // The writer's retry of it, or its replay after a crash, is not a second dead letter.
        await ChunksAsync("b1", 2);
        Assert.True(_deadLetters.IsEmpty);
        Assert.Equal(2, _sink.Calls.Count);
    }

    [Fact]
    public async Task Process_MutationGivenUpHoldingAChunkPastTheCount_ThatChunkGoesApart_AndALaterOneTooOnce()
    {
        _sink.Then(DeliveryResult.Permanent("no such table"));
        await ChunksAsync("b3", 0, 1, 4);
        await MarkerAsync("b3", 2);

        var letters = _deadLetters.ReadRecordsToList().Select(d => (Header(d.Headers, DeadLetterHeaders.Reason), string.Join(",", DeadMutation.Parser.ParseFrom(d.Value).Chunks.Select(c => c.Sequence)))).ToList();
        Assert.Equal([(DeadLetterReasons.Permanent, "0,1"), (MutationDeadLetterHeaders.BeyondCount, "4")], letters);

        // A replay of chunk 4 is not sent again; chunk 5, new and past the count too, goes once as beyond_count.
        await ChunksAsync("b3", 4, 5, 5);
        var late = _deadLetters.ReadRecord();
        Assert.True(_deadLetters.IsEmpty);
        Assert.Equal(MutationDeadLetterHeaders.BeyondCount, Header(late.Headers, DeadLetterHeaders.Reason));
        Assert.Equal([5u], DeadMutation.Parser.ParseFrom(late.Value).Chunks.Select(c => c.Sequence));
        Assert.Contains("arrived after its mutation was dead-lettered", Header(late.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_ChunkPastTheCountArrivingAfterTheMarker_StoredThenDeadLettered_OrAloneOnceApplied()
    {
        // After the marker, before the apply: it waits with the mutation's chunks.
        await MarkerAsync("b2", 3);
        await ChunksAsync("b2", 5, 0, 1, 2);
        Assert.Equal(["b2/0", "b2/1", "b2/2"], _sink.Calls.Select(c => c.Id));
        Assert.Equal([5u], DeadMutation.Parser.ParseFrom(_deadLetters.ReadRecord().Value).Chunks.Select(c => c.Sequence));

        // After the apply: alone, once.
        await ChunksAsync("b2", 7, 7);
        var late = _deadLetters.ReadRecord();
        Assert.True(_deadLetters.IsEmpty);
        Assert.Equal(MutationDeadLetterHeaders.BeyondCount, Header(late.Headers, DeadLetterHeaders.Reason));
        Assert.Equal([7u], DeadMutation.Parser.ParseFrom(late.Value).Chunks.Select(c => c.Sequence));
        Assert.Contains("chunk 7 is past its completion marker's count of 3, and arrived after its mutation was applied", Header(late.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal(3, _sink.Calls.Count);
    }

    [Fact]
    public async Task Timer_IncompleteMutation_GoesToTheDeadLetterTopicAfterMutationExpiry()
    {
        await ChunksAsync("m5", 0, 2);
        await MarkerAsync("m5", 3);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(59.9));
        Assert.True(_deadLetters.IsEmpty);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        var dead = _deadLetters.ReadRecord();
        Assert.True(_deadLetters.IsEmpty);
        Assert.Equal("m5", Encoding.UTF8.GetString(dead.Key));
        var mutation = DeadMutation.Parser.ParseFrom(dead.Value);
        Assert.Equal([0u, 2u], mutation.Chunks.Select(c => c.Sequence));
        Assert.Equal(3u, mutation.ChunkCount);
        Assert.Equal(MutationDeadLetterHeaders.Expired, Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("2", Header(dead.Headers, MutationDeadLetterHeaders.ChunksStored));
        Assert.Contains("incomplete", Header(dead.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal("wal.kv", Header(dead.Headers, DeadLetterHeaders.SourceTopic));
        Assert.Equal(0, StoredChunks());

        // Chunk 1 comes late: not applied on its own, and not dropped either.
        await ChunksAsync("m5", 1);
        Assert.Empty(_sink.Calls);
        var late = _deadLetters.ReadRecord();
        Assert.Equal("m5", Encoding.UTF8.GetString(late.Key));
        Assert.Equal(MutationDeadLetterHeaders.Late, Header(late.Headers, DeadLetterHeaders.Reason));
        Assert.Equal([1u], DeadMutation.Parser.ParseFrom(late.Value).Chunks.Select(c => c.Sequence));
        Assert.Contains("chunk 1 arrived after the mutation was dead-lettered (incomplete", Header(late.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timer_ExpiredHoldingAChunkPastTheCount_ALateChunkWithinItIsDeadLettered()
    {
        // Chunks 0, 1 and 5 before a marker saying 3: three stored, as many as the count, and chunk 2 still missing.
        await ChunksAsync("m5e", 0, 1, 5);
        await MarkerAsync("m5e", 3);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));
        var expired = _deadLetters.ReadRecord();
        Assert.Equal([0u, 1u], DeadMutation.Parser.ParseFrom(expired.Value).Chunks.Select(c => c.Sequence));
        // Chunk 5 is no part of the mutation: it goes apart, so a redrive puts back the mutation the marker described.
        var apart = _deadLetters.ReadRecord();
        Assert.Equal(MutationDeadLetterHeaders.BeyondCount, Header(apart.Headers, DeadLetterHeaders.Reason));
        Assert.Equal([5u], DeadMutation.Parser.ParseFrom(apart.Value).Chunks.Select(c => c.Sequence));

        await ChunksAsync("m5e", 2);

        Assert.Empty(_sink.Calls);
        var late = _deadLetters.ReadRecord();
        Assert.Equal(MutationDeadLetterHeaders.Late, Header(late.Headers, DeadLetterHeaders.Reason));
        Assert.Equal([2u], DeadMutation.Parser.ParseFrom(late.Value).Chunks.Select(c => c.Sequence));
    }

    [Fact]
    public async Task Timer_ExpiredBeforeTheRestWasRead_LatePiecesAreDeadLetteredNotDropped()
    {
        // The writer's chunk 0, chunk 1 and marker were all acknowledged; the topology read chunk 0, then was
        // down longer than mutation_expiry, and the expiry fired before it read the rest of its backlog.
        await ChunksAsync("m5b", 0);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));
        await ChunksAsync("m5b", 1);
        await MarkerAsync("m5b", 2);

        var dead = _deadLetters.ReadRecordsToList();
        Assert.Equal(
            [(MutationDeadLetterHeaders.Expired, "0", 0u), (MutationDeadLetterHeaders.Late, "1", 0u), (MutationDeadLetterHeaders.Late, "", 2u)],
            dead.Select(d =>
            {
                var mutation = DeadMutation.Parser.ParseFrom(d.Value);
                return (Header(d.Headers, DeadLetterHeaders.Reason), string.Join(",", mutation.Chunks.Select(c => c.Sequence)), mutation.ChunkCount);
            }));
        Assert.Empty(_sink.Calls);

        // A duplicate marker after that (the marker was known by then) is not one more dead letter.
        await ChunksAsync("m5c", 0);
        await MarkerAsync("m5c", 2);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));
        Assert.Single(_deadLetters.ReadRecordsToList());
        await MarkerAsync("m5c", 2);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task LatePiecesOfAnExpiredMutation_ReadTwice_AreDeadLetteredOnce()
    {
        // A slow writer retries the chunk and the marker it timed out on, or the task replays them after a crash or a
        // rebalance that came before its commit: each copy was dead-lettered as late again.
        await ChunksAsync("l1", 0);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));
        Assert.Equal(MutationDeadLetterHeaders.Expired, Header(_deadLetters.ReadRecord().Headers, DeadLetterHeaders.Reason));

        await ChunksAsync("l1", 1, 1);
        await MarkerAsync("l1", 2);
        await ChunksAsync("l1", 1);
        await MarkerAsync("l1", 2);

        Assert.Equal(
            [("1", 0u), ("", 2u)],
            _deadLetters.ReadRecordsToList().Select(d =>
            {
                Assert.Equal(MutationDeadLetterHeaders.Late, Header(d.Headers, DeadLetterHeaders.Reason));
                var mutation = DeadMutation.Parser.ParseFrom(d.Value);
                return (string.Join(",", mutation.Chunks.Select(c => c.Sequence)), mutation.ChunkCount);
            }));
        Assert.Empty(_sink.Calls);
        // The record of the dead-lettered piece goes with the mutation's retention.
        for (var i = 0; i < 7; i++)
        {
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Null(Progress("l1"));
        Assert.Equal(0, StoredChunks(finishedRecords: true));
    }

    [Fact]
    public async Task PiecesWhoseRequestIdsDifferOnlyInInvalidUtf8_AreDeadLetteredAsPermanent_NotAssembledAsOne()
    {
        // Written around the ingress: ids "m" 0xFF and "m" 0xFE both read as "m\uFFFD", and chunk 0 of the one and chunk 1
        // and the marker of the other were applied as one mutation.
        var pieces = new[]
        {
            WithRawRequestId(new LogEntry { Id = "a/0", Namespace = Ns, Chunk = Chunk(string.Empty, 0) }, [(byte)'m', 0xFF]),
            WithRawRequestId(new LogEntry { Id = "b/1", Namespace = Ns, Chunk = Chunk(string.Empty, 1) }, [(byte)'m', 0xFE]),
            WithRawRequestId(new LogEntry { Id = "b/complete", Namespace = Ns, Completion = new MutationCompletion { Namespace = Ns, ChunkCount = 2 } }, [(byte)'m', 0xFE]),
        };
        Assert.All(pieces, p => Assert.Equal("m\uFFFD", LogEntry.Parser.ParseFrom(p).Chunk?.RequestId ?? LogEntry.Parser.ParseFrom(p).Completion.RequestId));

        foreach (var piece in pieces)
        {
            await _log.PipeInputAsync([(byte)'m', 0xFF], piece);
        }

        Assert.Empty(_sink.Calls);
        var dead = _deadLetters.ReadRecordsToList();
        Assert.Equal(pieces, dead.Select(d => d.Value));
        Assert.All(dead, d =>
        {
            Assert.Equal(DeadLetterReasons.Permanent, Header(d.Headers, DeadLetterHeaders.Reason));
            Assert.Contains("request_id that is not valid UTF-8", Header(d.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
        });
        Assert.Equal(0, StoredChunks(finishedRecords: true));

        // A U+FFFD the writer meant (valid UTF-8) is an id like any other.
        await ChunksAsync("ok\uFFFD", 0);
        await MarkerAsync("ok\uFFFD", 1);
        Assert.Equal(["ok\uFFFD/0"], _sink.Calls.Select(c => c.Id));
    }

    // The entry with its chunk's or marker's request_id given as raw bytes (under 128 of them): the body's own is left
    // empty, so not written, and the raw field put ahead of the rest, a message's fields being allowed in any order.
    private static byte[] WithRawRequestId(LogEntry entry, byte[] requestId)
    {
        var (field, body, idField) = entry.BodyCase == LogEntry.BodyOneofCase.Chunk
            ? (LogEntry.ChunkFieldNumber, entry.Chunk.ToByteArray(), MutationChunk.RequestIdFieldNumber)
            : (LogEntry.CompletionFieldNumber, entry.Completion.ToByteArray(), MutationCompletion.RequestIdFieldNumber);
        entry.ClearBody();
        byte[] rawBody = [(byte)WireFormat.MakeTag(idField, WireFormat.WireType.LengthDelimited), (byte)requestId.Length, .. requestId, .. body];
        using var bytes = new MemoryStream();
        bytes.Write(entry.ToByteArray());
        var output = new CodedOutputStream(bytes, leaveOpen: true);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(rawBody));
        output.Flush();
        return bytes.ToArray();
    }

    [Fact]
    public async Task Timer_FailedApplyAtSequenceK_RetriesAfterBackoffFromK()
    {
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Delivered, DeliveryResult.Retriable("cluster down"));

        await ChunksAsync("m6", 4, 3, 2, 1, 0);
        await MarkerAsync("m6", 5);
        Assert.Equal(["m6/0", "m6/1", "m6/2"], _sink.Calls.Select(c => c.Id));

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(50));
        Assert.Equal(3, _sink.Calls.Count); // the first backoff is 100 ms
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(50));

        Assert.Equal(["m6/0", "m6/1", "m6/2", "m6/2", "m6/3", "m6/4"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(0, StoredChunks());
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(6, _sink.Calls.Count);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Timer_ProcessDiesWhileARetryIsInFlight_ARestoreStillHoldsTheTimerItsProgressNames()
    {
        // The mutation's input offsets are committed once it waits to retry: from then on the
        // store is its only copy, and a restore reads the changelog to its end.
        var store = new ChangelogReplica(_driver.CreateOutputTopic($"test-driver-{WalTopology.MutationStoreName(Ns)}-changelog", Deserializers.ByteArray, Deserializers.ByteArray));
        var restoredInFlight = new List<(bool Retrying, bool TimerNamedIsThere)>();
        _sink.Then(DeliveryResult.Retriable("cluster down"));
        await ChunksAsync("r1", 0);
        await MarkerAsync("r1", 1);
        _sink.WhileDelivering = _ => restoredInFlight.Add(Restored(store, "r1"));

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(["r1/0", "r1/0"], _sink.Calls.Select(c => c.Id));
        Assert.Equal([(true, true)], restoredInFlight);
        // Applied: the progress is kept, with the one timer that will expire it.
        Assert.Equal((false, true), Restored(store, "r1"));
        Assert.Equal(MutationState.Applied, MutationProgress.Parser.ParseFrom(store.Get(MutationKeys.Progress("r1"))).State);
        Assert.Single(store.CatchUp(), k => k[0] == MutationKeys.FirstTimer()[0]);
    }

    // As a restore would find it now: whether the progress says Retrying, and whether the timer it names is there.
    private static (bool Retrying, bool TimerNamedIsThere) Restored(ChangelogReplica store, string requestId)
    {
        var keys = store.CatchUp();
        var progress = MutationProgress.Parser.ParseFrom(store.Get(MutationKeys.Progress(requestId)));
        var timer = MutationKeys.Timer(progress.TimerDueMs, requestId);
        return (progress.State == MutationState.Retrying, keys.Any(k => k.AsSpan().SequenceEqual(timer)));
    }

    [Fact]
    public async Task Timer_RetriableFailureEveryTime_DeadLettersTheMutationAfterMaxAttempts()
    {
        _sink.Then(DeliveryResult.Delivered);
        _sink.Otherwise = DeliveryResult.Retriable("connection refused");

        await ChunksAsync("m7", 0, 1, 2);
        await MarkerAsync("m7", 3);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(["m7/0", "m7/1", "m7/1", "m7/1"], _sink.Calls.Select(c => c.Id));
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("retriable", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("3", Header(dead.Headers, DeadLetterHeaders.Attempts));
        Assert.Equal("1", Header(dead.Headers, MutationDeadLetterHeaders.NextSequence));
        Assert.Equal("connection refused", Header(dead.Headers, DeadLetterHeaders.Error));
        Assert.Equal(3, DeadMutation.Parser.ParseFrom(dead.Value).Chunks.Count);
        Assert.Equal(0, StoredChunks());
    }

    // A sink's own cancellation counts as a failure too: an HttpClient timeout surfaces as TaskCanceledException, with a
    // token the processor never gave. Let through, it failed the stream thread, and every namespace on it.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Timer_SinkThrowsOnAChunk_RetriedFromThatChunkThenDeadLettered(bool ownCancellation)
    {
        Exception thrown = ownCancellation
            ? new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout elapsing.")
            : new InvalidOperationException("a sink bug");
        _sink.WhileDelivering = delivery =>
        {
            if (delivery.Id == "m8/1")
            {
                throw thrown;
            }
        };

        await ChunksAsync("m8", 0, 1, 2);
        await MarkerAsync("m8", 3);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        var dead = _deadLetters.ReadRecord();
        Assert.Equal("retriable", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("3", Header(dead.Headers, DeadLetterHeaders.Attempts));
        Assert.Equal($"the sink failed unexpectedly ({thrown.GetType().Name}): {thrown.Message}", Header(dead.Headers, DeadLetterHeaders.Error));
        Assert.Equal(0, StoredChunks());
    }

    [Fact]
    public async Task Process_PermanentFailure_DeadLettersTheMutationAtOnce()
    {
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Permanent("no such cluster"));

        await ChunksAsync("m8", 0, 1, 2);
        await MarkerAsync("m8", 3);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["m8/0", "m8/1"], _sink.Calls.Select(c => c.Id));
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("m8", Header(dead.Headers, MutationDeadLetterHeaders.RequestId));
        Assert.Equal("permanent", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("1", Header(dead.Headers, DeadLetterHeaders.Attempts));
        Assert.Equal("1", Header(dead.Headers, MutationDeadLetterHeaders.NextSequence));
        Assert.Equal("1/1", Header(dead.Headers, MutationDeadLetterHeaders.Part));
        Assert.True(_deadLetters.IsEmpty);

        // The dead letter holds every chunk: one replayed after a crash is no late piece.
        await ChunksAsync("m8", 2);
        await MarkerAsync("m8", 3);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_PermanentFailureOfAMutationAboveTheRecordBound_DeadLettersItInPartsCarryingEveryChunk()
    {
        // A bound below two chunks: each part carries one. In production the bound keeps a large
        // mutation's dead letter under the producer's message.max.bytes.
        Rebuild(Options with { MaxDeadLetterBytes = Chunk("big", 0).CalculateSize() * 3 / 2 });
        _sink.Then(DeliveryResult.Permanent("no such cluster"));

        await ChunksAsync("big", 0, 1, 2);
        await MarkerAsync("big", 3);

        var parts = _deadLetters.ReadRecordsToList();
        Assert.Equal(["1/3", "2/3", "3/3"], parts.Select(p => Header(p.Headers, MutationDeadLetterHeaders.Part)));
        Assert.All(parts, p => Assert.Equal("big", Encoding.UTF8.GetString(p.Key)));
        Assert.All(parts, p => Assert.Equal("permanent", Header(p.Headers, DeadLetterHeaders.Reason)));
        Assert.Equal([0u, 1u, 2u], parts.SelectMany(p => DeadMutation.Parser.ParseFrom(p.Value).Chunks).Select(c => c.Sequence));
        Assert.All(parts, p => Assert.Equal(3u, DeadMutation.Parser.ParseFrom(p.Value).ChunkCount));
        Assert.Equal(0, StoredChunks());
    }

    [Fact]
    public async Task Process_CompleteMutation_GoesToTheSinkAsOneOrderedCall()
    {
        await ChunksAsync("o1", 2, 0, 3, 1);
        await MarkerAsync("o1", 4);

        Assert.Equal([["o1/0", "o1/1", "o1/2", "o1/3"]], _sink.OrderedCalls);
        Assert.Equal(0, StoredChunks());
    }

    [Fact]
    public async Task Timer_FailedApplyAtSequenceK_RetryIsOneOrderedCallFromK()
    {
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Retriable("cluster down"));

        await ChunksAsync("o2", 0, 1, 2, 3);
        await MarkerAsync("o2", 4);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal([["o2/0", "o2/1", "o2/2", "o2/3"], ["o2/1", "o2/2", "o2/3"]], _sink.OrderedCalls);
        Assert.Equal(0, StoredChunks());
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Timer_DefaultTargetChangedWhileAnApplyWaitsForItsRetry_TheRestGoesWhereTheFirstChunksWent()
    {
        // A mutation's chunks fall back on the default target, and README says writes already waiting keep the target
        // they were accepted with. Read again at the retry, the change sent the chunks after the failed one elsewhere:
        // one mutation split between two keyspaces, neither holding it whole.
        DefaultToCassandra("shop");
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Retriable("cluster down"));
        await ChunksAsync("moved", 0, 1, 2);
        await MarkerAsync("moved", 3);

        DefaultToCassandra("shop_v2");
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal(["moved/0", "moved/1", "moved/1", "moved/2"], _sink.Calls.Select(c => c.Id));
        Assert.All(_sink.Calls, c => Assert.Equal("shop", c.Target.Cassandra.Keyspace));
    }

    [Fact]
    public async Task Timer_RetryDueWhileItsNamespaceIsDeleted_WaitsUntilItIsCreatedAgain()
    {
        // admin.proto: a deleted namespace's retries stay undelivered while it is gone, and carry on once it is back.
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Retriable("cluster down"));
        await ChunksAsync("parked", 0, 1, 2);
        await MarkerAsync("parked", 3);
        Assert.True(_registry.TryGet(Ns, out var kv));
        _registry.Remove(Ns);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMinutes(2));

        Assert.Equal([["parked/0", "parked/1", "parked/2"]], _sink.OrderedCalls);
        Assert.True(_deadLetters.IsEmpty);
        _registry.Upsert(kv);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal([["parked/0", "parked/1", "parked/2"], ["parked/1", "parked/2"]], _sink.OrderedCalls);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_MarkerReadAfterItsNamespaceWasDeleted_WaitsUntilItIsCreatedAgain()
    {
        // The topology drops a deleted namespace's processors only at its rebuild, and reads its backlog meanwhile. A
        // mutation completed then was applied with the defaults (no default target): each chunk had no delivery, and the
        // whole mutation was dead-lettered as permanent, where admin.proto says its writes wait for the namespace.
        await ChunksAsync("orphan", 0, 1, 2);
        Assert.True(_registry.TryGet(Ns, out var kv));
        _registry.Remove(Ns);

        await MarkerAsync("orphan", 3);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMinutes(2));

        Assert.True(_deadLetters.IsEmpty, "the mutation was dead-lettered while its namespace was gone");
        Assert.Empty(_sink.Calls);
        _registry.Upsert(kv);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal([["orphan/0", "orphan/1", "orphan/2"]], _sink.OrderedCalls);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_ChunkWithoutADelivery_EarlierChunksAppliedThenDeadLetteredAtIt()
    {
        await ChunksAsync("o3", 0, 1, 3);
        await PipeAsync(new LogEntry
        {
            Id = "o3/2",
            Namespace = Ns,
            Chunk = new MutationChunk { Namespace = Ns, RequestId = "o3", Sequence = 2, Table = "table-0", Version = 1002 },
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
        });
        await MarkerAsync("o3", 4);

        Assert.Equal([["o3/0", "o3/1"]], _sink.OrderedCalls);
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("permanent", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("2", Header(dead.Headers, MutationDeadLetterHeaders.NextSequence));
        Assert.Contains("neither a put nor a delete", Header(dead.Headers, DeadLetterHeaders.Error));
        Assert.Equal(0, StoredChunks());
    }

    [Fact]
    public async Task Process_CassandraDeleteNamingAKeyColumnTwice_GoesToTheSinkToJudge_AndTheNextMutationApplies()
    {
        // Written around the ingress (which checks only that the key is an object of columns). Rebuilding the key
        // threw out of the processor, failing the stream thread on every instance that took the partition in turn.
        DefaultToCassandra("shop");
        var twice = Chunk("twice", 0);
        twice.Delete = new Delete { Key = ByteString.CopyFromUtf8("{\"id\": 1, \"id\": 2}") };

        await PipeAsync(new LogEntry { Id = "twice/0", Namespace = Ns, Chunk = twice, AcceptedAtMs = Start.ToUnixTimeMilliseconds() });
        await MarkerAsync("twice", 1);
        await ChunksAsync("after", 0);
        await MarkerAsync("after", 1);

        Assert.Equal([["twice/0"], ["after/0"]], _sink.OrderedCalls);
        Assert.Equal("{\"$delete\":true,\"id\": 1, \"id\": 2}", Encoding.UTF8.GetString(_sink.Calls[0].Payload.Span));
    }

    [Fact]
    public async Task Process_ChunksBeforeMarker_ProgressSavedByTheFirstAndCountedByTheMarker()
    {
        await ChunksAsync("c1", 1, 0);
        var afterChunks = Progress("c1");

        await MarkerAsync("c1", 3);

        Assert.NotNull(afterChunks);
        Assert.Equal(MutationState.Collecting, afterChunks.State);
        Assert.NotEqual(0, afterChunks.TimerDueMs);
        Assert.Equal(2u, Progress("c1")!.ChunksStored);
        Assert.Empty(_sink.Calls);

        await ChunksAsync("c1", 2);

        Assert.Equal(["c1/0", "c1/1", "c1/2"], _sink.Calls.Select(c => c.Id));
    }

    [Fact]
    public async Task Process_ReplayFindsChunksStoredButNoProgress_MutationStillApplies()
    {
        // As after a crash whose chunks changelog kept a chunk the mutations changelog never saw.
        _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Put(ChunkKey.Encode("c2", 0), Chunk("c2", 0).ToByteArray());

        await ChunksAsync("c2", 0);
        Assert.NotNull(Progress("c2"));
        await ChunksAsync("c2", 1);
        await MarkerAsync("c2", 2);

        Assert.Equal(["c2/0", "c2/1"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(0, StoredChunks());
    }

    [Fact]
    public async Task Process_ReplayedLastChunkAlreadyStoredButNotCounted_MutationApplies()
    {
        await ChunksAsync("c3", 0);
        await MarkerAsync("c3", 2);
        // As after a crash that kept the last chunk in the chunk store but lost the progress counting it.
        _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Put(ChunkKey.Encode("c3", 1), Chunk("c3", 1).ToByteArray());
        Assert.Empty(_sink.Calls);

        await ChunksAsync("c3", 1);

        Assert.Equal(["c3/0", "c3/1"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(MutationState.Applied, Progress("c3")!.State);
    }

    [Fact]
    public async Task Process_PlainWriteNextToMutations_StillGoesToDispatch()
    {
        var entry = new LogEntry
        {
            Id = "plain",
            Namespace = Ns,
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
            Payload = ByteString.CopyFromUtf8("p"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "plain" } },
        };

        await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());

        Assert.Equal("plain", Assert.Single(_sink.Calls).Id);
    }

    [Fact]
    public async Task Timer_MoreDueThanOneTickTakes_FiresTheRestOnLaterTicks()
    {
        Rebuild(Options with { MaxTimersPerTick = 2 });
        string[] ids = ["x1", "x2", "x3", "x4", "x5"];
        foreach (var id in ids)
        {
            await ChunksAsync(id, 0); // all five expire at the same millisecond
        }

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(60));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal(ids, _deadLetters.ReadRecordsToList().Select(r => Encoding.UTF8.GetString(r.Key)).Order(StringComparer.Ordinal));

        // A mutation started after the cursor moved past the old timers still expires.
        await ChunksAsync("x6", 0);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(59.9));
        Assert.True(_deadLetters.IsEmpty);
        for (var tick = 0; tick < 4; tick++)
        {
            // The five finished mutations' retention timers come due around now too, two a tick.
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal("x6", Encoding.UTF8.GetString(_deadLetters.ReadRecord().Key));
        Assert.Equal(0, StoredChunks());
    }

    // A punctuation stops firing timers after MaxTimerFiringTime, as the dispatch's does: a slow
    // target must not hold the stream thread, and every other namespace on it, for 2,000 retries.
    [Fact]
    public async Task MutationRetries_OnePunctuationStopsAfterMaxTimerFiringTime()
    {
        Rebuild(Options with { MaxTimerFiringTime = TimeSpan.FromSeconds(1) });
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
        Assert.Equal(reason, Header(dead.Headers, DeadLetterHeaders.Error));
        Assert.Empty(_sink.Calls);
    }

    // A replicated piece's origin, or a writer's trace, was dropped from the dead letter of that one record. An old dead
    // letter copied back around the ingress carries wal.* headers: the new dead letter has each once, its own.
    [Theory]
    [InlineData("unreadable")]
    [InlineData("late chunk")]
    [InlineData("late marker")]
    public async Task DeadLetterOfOneRecord_CarriesItsHeadersBeforeItsOwn_AndEachOfItsOwnOnce(string path)
    {
        var input = new Headers
        {
            { "wal.origin.region", "eu-west"u8.ToArray() },
            { "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8.ToArray() },
            { DeadLetterHeaders.Reason, "expired"u8.ToArray() },
            { MutationDeadLetterHeaders.Part, "2/2"u8.ToArray() },
        };
        var entry = new LogEntry { Id = "h/piece", Namespace = Ns, AcceptedAtMs = Start.ToUnixTimeMilliseconds() };
        if (path == "late marker")
        {
            entry.Completion = new MutationCompletion { Namespace = Ns, RequestId = "h", ChunkCount = 1 };
        }
        else
        {
            entry.Chunk = Chunk("h", 0);
        }

        if (path != "unreadable")
        {
            // Expired with nothing in it: the chunk and the marker come after its dead letter.
            await ChunksAsync("h", 1);
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));
            Assert.Equal(MutationDeadLetterHeaders.Expired, Header(_deadLetters.ReadRecord().Headers, DeadLetterHeaders.Reason));
        }

        await _log.PipeInputAsync(new Wal.Streams.Record<byte[], byte[]>("h"u8.ToArray(), path == "unreadable" ? [0x42, 0x02, 0xFF, 0xFF] : entry.ToByteArray(), Start.ToUnixTimeMilliseconds(), input));

        var dead = _deadLetters.ReadRecord();
        var keys = dead.Headers.Select(h => h.Key).ToList();
        Assert.Equal(["wal.origin.region", "traceparent", DeadLetterHeaders.Error], keys.Take(3));
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("eu-west", Header(dead.Headers, "wal.origin.region"));
        Assert.Equal(path == "unreadable" ? "permanent" : MutationDeadLetterHeaders.Late, Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.True(_deadLetters.IsEmpty);
    }

    // Field 8 (chunk) as a varint: the router sees a mutation's field number, the parser keeps it as an unknown field and
    // finds no body. Thrown, it failed the stream thread again after every restart.
    [Fact]
    public async Task EntryWithAChunkFieldOfTheWrongWireType_IsDeadLetteredAndTheNextMutationApplies()
    {
        byte[] value = [0x40, 0x01];

        await _log.PipeInputAsync("x"u8.ToArray(), value);
        await ChunksAsync("after", 0);
        await MarkerAsync("after", 1);

        var dead = _deadLetters.ReadRecord();
        Assert.Equal(value, dead.Value);
        Assert.Equal("permanent", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("after/0", Assert.Single(_sink.Calls).Id);
    }

    // The apply's budget is the delivery timeout per chunk; CancelAfter takes at most 2^32-2 ms
    // (about 49.7 days), and 1 h x 1,200 chunks is 50 days (as 5 s x 858,994 chunks would be).
    [Fact]
    public async Task MutationWhoseTimeoutBudgetPassesTheLongestTimer_IsAppliedNotThrown()
    {
        Rebuild(Options with { DeliveryTimeout = TimeSpan.FromHours(1) });
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
        Assert.Equal(0, StoredChunks(finishedRecords: true));
    }

    // The same split the other way: the chunk store's changelog kept the apply's deletes, the
    // mutation store's lost the Applied progress saved after them. The marker, not committed, is
    // replayed, finds no chunks, and waited for them: at mutation_expiry an applied mutation was
    // dead-lettered as "incomplete: 0 chunk(s) in, 2 expected".
    [Fact]
    public async Task ReplayedMarker_AppliedProgressLostInARestore_SettledAsAppliedNotDeadLettered()
    {
        await ChunksAsync("r1", 0, 1);
        var beforeMarker = Progress("r1")!;
        await MarkerAsync("r1", 2);
        Assert.Equal(["r1/0", "r1/1"], _sink.Calls.Select(c => c.Id));
        RestoreProgress("r1", beforeMarker);

        await MarkerAsync("r1", 2);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));

        Assert.True(_deadLetters.IsEmpty, "an applied mutation was dead-lettered");
        Assert.Equal(2, _sink.Calls.Count);
        for (var i = 0; i < 7; i++)
        {
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Null(Progress("r1"));
        Assert.Equal(0, StoredChunks(finishedRecords: true));
    }

    [Fact]
    public async Task ReplayedMarker_DeadLetteredProgressLostInARestore_NotDeadLetteredTwice()
    {
        _sink.Then(DeliveryResult.Permanent("no such cluster"));
        await ChunksAsync("r2", 0, 1);
        var beforeMarker = Progress("r2")!;
        await MarkerAsync("r2", 2);
        Assert.Single(_deadLetters.ReadRecordsToList());
        RestoreProgress("r2", beforeMarker);

        await MarkerAsync("r2", 2);
        await ChunksAsync("r2", 1);
        Assert.Equal(MutationState.DeadLettered, Progress("r2")!.State);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));

        Assert.True(_deadLetters.IsEmpty, "the mutation was dead-lettered again");
    }

    // A finished record whose delete was lost when its mutation was forgotten must not pass for a
    // later mutation that reuses the id (ids are idempotency keys for one mutation_expiry only).
    [Fact]
    public async Task FinishedRecordOfAnEarlierMutationUnderTheSameId_DoesNotSwallowALaterOne()
    {
        await ChunksAsync("r3", 0);
        await MarkerAsync("r3", 1);
        var chunks = _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns));
        var finished = chunks.Get(ChunkKey.Finished("r3"))!;
        for (var i = 0; i < 7; i++)
        {
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Null(Progress("r3"));
        chunks.Put(ChunkKey.Finished("r3"), finished);

        await ChunksAsync("r3", 0, 1);
        await MarkerAsync("r3", 2);

        Assert.Equal(["r3/0", "r3/0", "r3/1"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(MutationState.Applied, Progress("r3")!.State);
    }

    [Fact]
    public async Task Timer_RetryRestoredWithoutAChunk_CollectsItAgainThenAppliesEveryChunkInOrder()
    {
        // A crash keeps a prefix of each store's changelog (separate partitions): here the Retrying progress (chunk 0
        // applied, chunk 1 refused), but not the puts of chunks 0 and 2, whose records, uncommitted, are read again after
        // the restore; the retry's timer fires first. Chunk 0 was applied and is not needed again; chunk 2 is.
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Retriable("cluster down"));
        await ChunksAsync("x1", 0, 1, 2);
        await MarkerAsync("x1", 3);
        Assert.Equal(MutationState.Retrying, Progress("x1")!.State);
        _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Delete(ChunkKey.Encode("x1", 0));
        _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Delete(ChunkKey.Encode("x1", 2));

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(["x1/0", "x1/1"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(MutationState.Collecting, Progress("x1")!.State);

        await ChunksAsync("x1", 2);

        Assert.Equal(["x1/0", "x1/1", "x1/1", "x1/2"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(MutationState.Applied, Progress("x1")!.State);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Timer_RetryRestoredWithoutAChunkThatNeverComes_ExpiresAndALateCopyIsDeadLetteredNotIgnored()
    {
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Retriable("cluster down"));
        await ChunksAsync("x2", 0, 1, 2);
        await MarkerAsync("x2", 3);
        _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Delete(ChunkKey.Encode("x2", 2));

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        Assert.True(_deadLetters.IsEmpty, "given up before its expiry");
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(61));

        var expired = _deadLetters.ReadRecord();
        Assert.Equal(MutationDeadLetterHeaders.Expired, Header(expired.Headers, DeadLetterHeaders.Reason));
        var dead = DeadMutation.Parser.ParseFrom(expired.Value);
        Assert.Equal([0u, 1u], dead.Chunks.Select(c => c.Sequence));
        Assert.Equal(1u, dead.NextSequence);

        // Its apply attempts do not make the expired dead letter hold the chunk it never had.
        await ChunksAsync("x2", 2);
        var late = _deadLetters.ReadRecord();
        Assert.Equal(MutationDeadLetterHeaders.Late, Header(late.Headers, DeadLetterHeaders.Reason));
        Assert.Equal([2u], DeadMutation.Parser.ParseFrom(late.Value).Chunks.Select(c => c.Sequence));
        Assert.Equal(["x2/0", "x2/1"], _sink.Calls.Select(c => c.Id));
    }

    /// <summary>Puts back an earlier progress and its timer, as a restore does that lost the mutation store's later writes.</summary>
    private void RestoreProgress(string requestId, MutationProgress earlier)
    {
        var mutations = _driver.GetKeyValueStore(WalTopology.MutationStoreName(Ns));
        mutations.Delete(MutationKeys.Timer(Progress(requestId)!.TimerDueMs, requestId));
        mutations.Put(MutationKeys.Progress(requestId), earlier.ToByteArray());
        mutations.Put(MutationKeys.Timer(earlier.TimerDueMs, requestId), []);
    }

    private void Rebuild(WalTopologyOptions options)
    {
        _driver.Dispose();
        (_driver, _log, _deadLetters) = Build(options);
    }

    private (TopologyTestDriver Driver, TestInputTopic<byte[], byte[]> Log, TestOutputTopic<byte[], byte[]> DeadLetters) Build(WalTopologyOptions options)
    {
        var driver = new TopologyTestDriver(WalTopology.Build(_registry, _sink, options), initialWallClockTime: Start);
        return (
            driver,
            driver.CreateInputTopic("wal.kv", Serializers.ByteArray, Serializers.ByteArray),
            driver.CreateOutputTopic("wal.kv.dlq", Deserializers.ByteArray, Deserializers.ByteArray));
    }

    // The namespace's default target becomes table orders of keyspace, on Cassandra cluster main.
    private void DefaultToCassandra(string keyspace)
    {
        Assert.True(_registry.TryGet(Ns, out var config));
        var changed = config.Clone();
        changed.DefaultTarget = new Target { Cassandra = new CassandraTarget { Cluster = "main", Keyspace = keyspace, Table = "orders" } };
        _registry.Upsert(changed);
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

    /// <summary>Entries in the chunk store: chunks, and with <paramref name="finishedRecords"/> the records saying a mutation is finished.</summary>
    private int StoredChunks(bool finishedRecords = false)
    {
        var count = 0;
        using var scan = _driver.GetKeyValueStore(WalTopology.ChunkStoreName(Ns)).Range(null, null);
        while (scan.MoveNext())
        {
            // A chunk key ends with 0x00 and the sequence; a finished record's with five 0xFF bytes.
            if (finishedRecords || scan.Key[^5] == 0)
            {
                count++;
            }
        }

        return count;
    }

    private static string Header(Headers headers, string name) => Encoding.UTF8.GetString(headers.GetLastBytes(name));
}
