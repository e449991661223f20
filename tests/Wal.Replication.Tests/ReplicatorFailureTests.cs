using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;
using Wal.Topology;
using Wal.Topology.Replication;
using Wal.Topology.Tests;

namespace Wal.Replication.Tests;

/// <summary>One replicator between two mock clusters, with one partition the remote refuses for good.</summary>
public sealed class ReplicatorFailureTests : IDisposable
{
    private const string Topic = "wal.mismatch";
    private const string DeadLetterTopic = "wal.mismatch.dlq";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly EmbeddedKafkaCluster _a = EmbeddedKafkaCluster.Start(1);
    private readonly EmbeddedKafkaCluster _b = EmbeddedKafkaCluster.Start(1);
    private readonly RecordingLogger _logger = new();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task RemoteHasFewerPartitions_OtherPartitionsStillReplicate_AndTheErrorNamesThePartition()
    {
        await RemoteHasFewerPartitions(TimeSpan.Zero);

        // The warning said "produce of offset 0 failed (Local: Unknown partition)": neither the topic nor the partition.
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(_logger.Messages.Any(m => m.Contains($"{Topic}/2", StringComparison.Ordinal) && m.Contains("partition count", StringComparison.Ordinal))),
            Patience, () => "the failure to be logged naming the partition b lacks; logged: " + string.Join(" | ", _logger.Messages.Distinct().Take(4)));
    }

    [Fact]
    public async Task RemoteHasFewerPartitionsAndIsFar_OtherPartitionsStillReplicate()
    {
        // A remote region is a round trip away (here 300 ms); the partition it lacks fails at once, locally. The replicator
        // rebuilt its producer on that failure before the other partitions' acknowledgements came back, every time: it
        // re-sent them forever (sent 360, replicated 0 in 30 s) and committed nothing.
        await RemoteHasFewerPartitions(TimeSpan.FromMilliseconds(300));
    }

    // A record the remote refuses for good (here its broker answers MSG_SIZE_TOO_LARGE) was re-sent after every rewind:
    // its partition never moved on, and each rewind re-sent every other partition's records with it.
    [Fact]
    public async Task RemoteRefusesARecordForGood_ItIsDeadLetteredAtHome_AndThePartitionMovesOn()
    {
        await using var replicator = await StartWithOneRefusalAsync();

        await ProduceAsync([(0, Entry("refused"))]);
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(replicator.DeadLettered == 1), Patience,
            () => $"the refused record to be dead-lettered (sent={replicator.Sent} replicated={replicator.Replicated}); logged: " + string.Join(" | ", _logger.Messages.Distinct().Take(4)));
        await ProduceAsync([(0, Entry("next"))]);
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(Committed(0) == 2), Patience,
            () => $"a's replicator to commit past both records (committed {Committed(0)}; sent={replicator.Sent} replicated={replicator.Replicated})");

        Assert.Equal(["next"], ReadAll(_b, Topic).Select(r => LogEntry.Parser.ParseFrom(r.Message.Value).Id));
        var dead = Assert.Single(ReadAll(_a, DeadLetterTopic));
        Assert.Equal("refused", LogEntry.Parser.ParseFrom(dead.Message.Value).Id);
        Assert.Equal("permanent", Header(dead, "wal.reason"));
        Assert.Equal("b", Header(dead, ReplicationHeaders.RefusedBy));
        Assert.Equal("0", Header(dead, "wal.source.offset"));
        Assert.Contains("region b refused", Header(dead, "wal.error"), StringComparison.Ordinal);
        Assert.Null(dead.Message.Headers.FirstOrDefault(h => h.Key == ReplicationHeaders.OriginRegion));
    }

    [Fact]
    public async Task RemoteRefusesARecordForGood_ItIsCountedRefusedAndDeadLettered_AndTheNextReplicated()
    {
        using var recorded = new RecordedMetrics();
        await using var replicator = await StartWithOneRefusalAsync(recorded.Metrics);

        // One at a time: the broker's refusal is for a whole produce request, and takes every record in it.
        await ProduceAsync([(0, Entry("refused"))]);
        // The dead letter is counted after the refusal, so once it is, both are.
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(recorded.Sum("wal.topology.dead_letters") == 1), Patience,
            () => $"the refusal to be counted (sent={replicator.Sent} dead-lettered={replicator.DeadLettered})");
        await ProduceAsync([(0, Entry("next"))]);
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(recorded.Sum("wal.topology.replication.records") >= 1), Patience,
            () => $"the next record to be counted replicated (sent={replicator.Sent} replicated={replicator.Replicated})");

        Assert.Equal(["namespace=mismatch,region=b"], recorded.TagSets("wal.topology.replication.refused"));
        Assert.Equal(1, recorded.Sum("wal.topology.replication.refused"));
        Assert.Equal(["namespace=mismatch,region=b"], recorded.TagSets("wal.topology.replication.records"));
        Assert.Equal(["namespace=mismatch,reason=permanent"], recorded.TagSets("wal.topology.dead_letters"));
    }

    // A broker answers for a whole batch: one record it objects to (a record b takes in no batch, alone or not) fails
    // every record sent with it, with the same error. All five were dead-lettered, and the four b takes never reached it.
    [Fact]
    public async Task RemoteRefusesABatchForOneOfItsRecords_OnlyThatRecordIsDeadLettered_AndTheOthersReachBInOrder()
    {
        _a.CreateTopic(Topic, 1);
        _a.CreateTopic(DeadLetterTopic, 1);
        _b.CreateTopic(Topic, 1);
        _b.SetBrokerDown(1); // the records wait in the producer, to go out in one batch
        await using var replicator = Replicator(DeadLetterTopic);
        await replicator.StartAsync();
        string[] written = ["k1-first", "k2-first", "refused", "k1-second", "k2-second"];
        await ProduceAsync(written.Select(id => (0, Entry(id))));
        await Eventually.WaitUntilAsync(() => replicator.Sent == written.Length, Patience, "the replicator to hand every record to its producer");
        // The batch is refused; then, one request a record, b takes every record but the third.
        _b.PushRequestErrors(KafkaApi.Produce, 10, 0, 0, 10, 0, 0);
        _b.SetBrokerUp(1);

        await Eventually.WaitUntilAsync(
            () => Task.FromResult(Committed(0) == written.Length), Patience,
            () => $"a's replicator to commit past every record (committed {Committed(0)}; sent={replicator.Sent} replicated={replicator.Replicated} dead-lettered={replicator.DeadLettered})");

        var dead = ReadAll(_a, DeadLetterTopic).Select(r => LogEntry.Parser.ParseFrom(r.Message.Value).Id).ToList();
        Assert.Equal(["refused"], dead);
        Assert.Equal(["k1-first", "k2-first", "k1-second", "k2-second"], ReadAll(_b, Topic).Select(r => LogEntry.Parser.ParseFrom(r.Message.Value).Id));
        Assert.Equal(1, replicator.DeadLettered);
    }

    // A redriven record (or one a tool copied back from the dead-letter topic) carries an earlier dead letter's wal.*
    // headers. The replicator's dead letter kept them ahead of its own: two wal.reason, two wal.error, two source
    // offsets, and a reader taking the first saw the old failure.
    [Fact]
    public async Task RemoteRefusesARecordCarryingOldDeadLetterHeaders_ItsDeadLetterHasEachOnce_WithItsOwnValue()
    {
        await using var replicator = await StartWithOneRefusalAsync();

        var carried = new Headers
        {
            { "wal.reason", Encoding.UTF8.GetBytes("retriable") },
            { "wal.error", Encoding.UTF8.GetBytes("an earlier failure") },
            { "wal.source.offset", Encoding.UTF8.GetBytes("77") },
            { ReplicationHeaders.RefusedBy, Encoding.UTF8.GetBytes("c") },
            { "trace", Encoding.UTF8.GetBytes("t1") },
        };
        await ProduceAsync([(0, Entry("redriven"))], carried);
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(replicator.DeadLettered == 1), Patience,
            () => $"the refused record to be dead-lettered (sent={replicator.Sent} replicated={replicator.Replicated})");

        var dead = Assert.Single(ReadAll(_a, DeadLetterTopic));
        Assert.Equal("permanent", Single(dead, "wal.reason"));
        Assert.Contains("region b refused", Single(dead, "wal.error"), StringComparison.Ordinal);
        Assert.Equal("0", Single(dead, "wal.source.offset"));
        Assert.Equal("b", Single(dead, ReplicationHeaders.RefusedBy));
        Assert.Equal("t1", Single(dead, "trace"));
    }

    // Each record the remote refused for good waited up to 5 s for its dead letter, one after the other: 12 refused
    // records whose dead letters a's cluster does not take held the loop a minute, and a revocation, which the whole
    // group waits for, as long. (The mock coordinator hands partitions over at its session timeout whatever the members
    // do, so the hold is read from the log's times rather than from the group.) One record on each of 12 partitions: each
    // is alone in its batch, so each refusal is the record's own.
    [Fact]
    public async Task RemoteRefusesRecordsOfManyPartitions_AndTheirDeadLettersGoUnanswered_TheyAreAwaitedTogether()
    {
        const int Records = 12;
        _a.CreateTopic(Topic, Records);
        _a.CreateTopic(DeadLetterTopic, 1);
        _a.SetPartitionLeader(DeadLetterTopic, 0, -1); // no dead letter is ever taken
        _b.CreateTopic(Topic, Records);
        _b.SetBrokerDown(1); // the records wait in the producer, to be refused together
        await using var replicator = Replicator(DeadLetterTopic);
        await replicator.StartAsync();
        await ProduceAsync(Enumerable.Range(0, Records).Select(i => (i, Entry($"r{i}"))));
        await Eventually.WaitUntilAsync(() => replicator.Sent == Records, Patience, "the replicator to hand every record to its producer");
        _b.PushRequestErrors(KafkaApi.Produce, Enumerable.Repeat(10, Records).ToArray()); // MSG_SIZE_TOO_LARGE for each partition's batch
        _b.SetBrokerUp(1);

        static bool NotWritten(string message) => message.Contains("could not be written", StringComparison.Ordinal);
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(_logger.Messages.Count(NotWritten) >= Records), Patience,
            () => $"every refused record's dead letter to fail (failed {_logger.Messages.Count(NotWritten)})");

        // One wait of 5 s for them all; two if the drain began while their answers were still arriving.
        var failedAt = _logger.Entries.Where(e => NotWritten(e.Text)).Take(Records).Select(e => e.At).ToList();
        var spread = Stopwatch.GetElapsedTime(failedAt[0], failedAt[^1]);
        Assert.True(spread < TimeSpan.FromSeconds(12), $"the {Records} dead letters failed over {spread.TotalSeconds:F1} s");
        Assert.Equal(0, replicator.DeadLettered);
    }

    // A record too large for the remote producer is dead-lettered as it is read. A rewind to an unanswered record before
    // it (another partition failed) read it again, and it was dead-lettered again on every rewind.
    [Fact]
    public async Task RewindPastADeadLetteredRecord_DoesNotDeadLetterItAgain()
    {
        _a.CreateTopic(Topic, 2);
        _a.CreateTopic(DeadLetterTopic, 1);
        _b.CreateTopic(Topic, 1); // no partition 1: its record fails at once, each time, and each failure rewinds
        _b.SetPartitionLeader(Topic, 0, -1); // partition 0's first record stays unanswered through every rewind
        await using var replicator = Replicator(DeadLetterTopic);
        await replicator.StartAsync();

        await ProduceAsync([(0, Entry("unanswered")), (0, Entry("huge", payloadBytes: 1_100_000)), (1, Entry("nowhere"))]);
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(_logger.Messages.Count(m => m.Contains("rewound", StringComparison.Ordinal)) >= 2), Patience,
            () => $"two rewinds (sent={replicator.Sent} dead-lettered={replicator.DeadLettered})");

        Assert.Equal(1, replicator.DeadLettered);
        Assert.Equal("huge", LogEntry.Parser.ParseFrom(Assert.Single(ReadAll(_a, DeadLetterTopic)).Message.Value).Id);
    }

    // The dead-letter producer was built once and kept for the replicator's life. An idempotent producer that librdkafka
    // fails for good (its producer id refused, a lost sequence) refuses every later record at once: each record the remote
    // refused from then on was re-sent, refused again, its dead letter refused again, and its partition never moved on.
    [Fact]
    public async Task DeadLetterProducerFailedFatally_ARefusedRecordIsStillDeadLettered_AndThePartitionMovesOn()
    {
        _a.CreateTopic(Topic, 1);
        _a.CreateTopic(DeadLetterTopic, 1);
        _b.CreateTopic(Topic, 1);
        // Over the remote producer's limit: refused before it is sent, on every attempt.
        await ProduceAsync([(0, Entry("huge", payloadBytes: 1_100_000)), (0, Entry("next"))]);
        // The dead-letter producer's first InitProducerId meets CLUSTER_AUTHORIZATION_FAILED (once), which is fatal to it.
        _a.PushRequestErrors(KafkaApi.InitProducerId, 31);
        await using var replicator = Replicator(DeadLetterTopic);
        await replicator.StartAsync();

        await Eventually.WaitUntilAsync(
            () => Task.FromResult(Committed(0) == 2), Patience,
            () => $"a's replicator to commit past both records (committed {Committed(0)}; sent={replicator.Sent} dead-lettered={replicator.DeadLettered}); logged: "
                + string.Join(" | ", _logger.Messages.Where(m => m.Contains("dead-letter", StringComparison.Ordinal)).Distinct().Take(3)));

        Assert.Equal(1, replicator.DeadLettered);
        Assert.Equal("huge", LogEntry.Parser.ParseFrom(Assert.Single(ReadAll(_a, DeadLetterTopic)).Message.Value).Id);
        Assert.Equal(["next"], ReadAll(_b, Topic).Select(r => LogEntry.Parser.ParseFrom(r.Message.Value).Id));
    }

    private async Task RemoteHasFewerPartitions(TimeSpan roundTrip)
    {
        // The namespace's topic has 3 partitions in a, but only 2 in b: partition 2 cannot be copied.
        _a.CreateTopic(Topic, 3);
        _b.CreateTopic(Topic, 2);
        if (roundTrip > TimeSpan.Zero)
        {
            _b.SetBrokerRoundTrip(1, roundTrip);
        }

        await using var replicator = Replicator();
        await replicator.StartAsync();

        await ProduceAsync(Enumerable.Range(0, 3).SelectMany(p => Enumerable.Range(0, 5).Select(i => (p, Entry($"p{p}-{i}")))));

        // Partitions 0 and 1 are healthy in both regions: their records are acknowledged by b and committed in a.
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(Committed(0) == 5 && Committed(1) == 5),
            Patience, () => $"a's replicator to commit partitions 0 and 1 although b has no partition 2 (committed {Committed(0)}, {Committed(1)}; sent={replicator.Sent} replicated={replicator.Replicated})");
        Assert.Equal(0, Committed(2));
    }

    // A region away (or a replicator stopped) longer than the home topic's retention: the records retention removed were
    // skipped without a word, the consumer starting again at the first offset left. Here the mock cluster's own bound
    // on a partition's log (a few MB) stands in for retention.
    [Fact]
    public async Task RecordsRetentionRemovedBeforeTheyWereRead_CountedAndLoggedNamingTheOffsets_AndTheRestReplicated()
    {
        _a.CreateTopic(Topic, 1);
        _b.CreateTopic(Topic, 1);
        await using (var first = Replicator())
        {
            await first.StartAsync();
            await ProduceAsync([(0, Entry("early"))]);
            await Eventually.WaitUntilAsync(() => Task.FromResult(Committed(0) == 1), Patience, () => $"the first record to be committed (committed {Committed(0)})");
        }

        var gone = await OverflowThenWriteLateAsync() - 1;
        using var recorded = new RecordedMetrics();
        await using var second = Replicator(metrics: recorded.Metrics);

        await second.StartAsync();

        await LateReachesBAsync(second);
        Assert.Equal(gone, recorded.Sum("wal.topology.replication.expired_unread"));
        Assert.Equal(["namespace=mismatch,region=b"], recorded.TagSets("wal.topology.replication.expired_unread"));
        Assert.Contains(_logger.Messages, m => m.Contains($"offsets 1 to {gone} of {Topic}/0 ({gone}) were removed by the topic's retention", StringComparison.Ordinal));
    }

    // A region away from the replicator's first start: every record of the partition waits for b, so nothing was ever
    // committed, and the group had no position at all. `wal status` showed '-' for b (as for a replicator never started),
    // and a replicator started again after retention removed those records began at the first one left, without a word.
    [Fact]
    public async Task RegionAwayFromTheStart_TheStartIsCommitted_SoRecordsRetentionRemovedMeanwhileAreCounted()
    {
        _a.CreateTopic(Topic, 1);
        _b.CreateTopic(Topic, 1);
        _b.SetBrokerDown(1);
        await using (var first = Replicator())
        {
            await first.StartAsync();
            await ProduceAsync([(0, Entry("early"))]);
            await Eventually.WaitUntilAsync(() => first.Sent == 1, Patience, "the replicator to hand the record to its producer");
            await Eventually.WaitUntilAsync(
                () => Task.FromResult(CommittedOrNone(0) == 0), Patience,
                () => $"the replicator stuck on b to commit where it stands (committed {CommittedOrNone(0)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing"})");
        }

        var low = await OverflowThenWriteLateAsync();
        _b.SetBrokerUp(1);
        using var recorded = new RecordedMetrics();
        await using var second = Replicator(metrics: recorded.Metrics);

        await second.StartAsync();

        await LateReachesBAsync(second);
        Assert.Equal(low, recorded.Sum("wal.topology.replication.expired_unread"));
        Assert.Contains(_logger.Messages, m => m.Contains($"offsets 0 to {low - 1} of {Topic}/0 ({low}) were removed", StringComparison.Ordinal));
    }

    // Fills partition 0 past the mock cluster's bound on a partition's log (a few MB), which stands in for retention, then
    // writes "late": the first offset retention left, which the test checks is past some removed ones.
    private async Task<long> OverflowThenWriteLateAsync()
    {
        await ProduceAsync(Enumerable.Range(0, 24).Select(i => (0, Entry($"bulk-{i}", payloadBytes: 512 * 1024))));
        await ProduceAsync([(0, Entry("late"))]);
        var low = LowWatermark(0);
        Assert.True(low > 0, "the mock cluster kept every record, so nothing was removed and the test proves nothing");
        return low;
    }

    private Task LateReachesBAsync(RegionReplicator replicator) => Eventually.WaitUntilAsync(
        () => Task.FromResult(ReadAll(_b, Topic).Any(r => LogEntry.Parser.ParseFrom(r.Message.Value).Id == "late")), Patience,
        () => $"the record after the gap to reach b (replicated={replicator.Replicated})");

    private long? CommittedOrNone(int partition)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _a.BootstrapServers, GroupId = "wal-replicate-mismatch-to-b" }).Build();
        var committed = consumer.Committed([new TopicPartition(Topic, partition)], TimeSpan.FromSeconds(5)).Single();
        return committed.Offset.Value < 0 ? null : committed.Offset.Value;
    }

    private long LowWatermark(int partition)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _a.BootstrapServers, GroupId = "watermarks" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(Topic, partition), TimeSpan.FromSeconds(5)).Low.Value;
    }

    private long Committed(int partition) => CommittedOrNone(partition) ?? 0;

    // One partition on each side and a dead-letter topic at home; b's broker refuses the first produce request for good
    // (MSG_SIZE_TOO_LARGE, once).
    private async Task<RegionReplicator> StartWithOneRefusalAsync(TopologyMetrics? metrics = null)
    {
        _a.CreateTopic(Topic, 1);
        _a.CreateTopic(DeadLetterTopic, 1);
        _b.CreateTopic(Topic, 1);
        _b.PushRequestErrors(KafkaApi.Produce, 10);
        var replicator = Replicator(DeadLetterTopic, metrics);
        await replicator.StartAsync();
        return replicator;
    }

    private RegionReplicator Replicator(string? deadLetterTopic = null, TopologyMetrics? metrics = null) => new(
        new RegionReplicatorOptions
        {
            Namespace = "mismatch",
            Topic = Topic,
            LocalRegion = "a",
            LocalBootstrapServers = _a.BootstrapServers,
            RemoteRegion = "b",
            RemoteBootstrapServers = _b.BootstrapServers,
            CommitInterval = TimeSpan.FromMilliseconds(200),
            RetryBackoff = TimeSpan.FromMilliseconds(200),
            DeadLetterTopic = deadLetterTopic,
        },
        _logger,
        metrics);

    private async Task ProduceAsync(IEnumerable<(int Partition, LogEntry Entry)> entries, Headers? headers = null)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _a.BootstrapServers, Acks = Acks.All, EnableIdempotence = true, MessageMaxBytes = 4 * 1024 * 1024 }).Build();
        foreach (var (partition, entry) in entries)
        {
            var written = await producer.ProduceAsync(
                new TopicPartition(Topic, partition), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray(), Headers = headers });
            Assert.Equal(PersistenceStatus.Persisted, written.Status);
        }
    }

    private static List<ConsumeResult<byte[], byte[]>> ReadAll(EmbeddedKafkaCluster cluster, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = $"read-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var records = new List<ConsumeResult<byte[], byte[]>>();
        while (consumer.Consume(TimeSpan.FromSeconds(10)) is { } record && !record.IsPartitionEOF)
        {
            records.Add(record);
        }

        return records;
    }

    private static string Header(ConsumeResult<byte[], byte[]> record, string key) =>
        Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(key));

    private static string Single(ConsumeResult<byte[], byte[]> record, string key) =>
        Encoding.UTF8.GetString(Assert.Single(record.Message.Headers, h => h.Key == key).GetValueBytes());

    private static LogEntry Entry(string id, int payloadBytes = 0) =>
        new() { Id = id, Namespace = "mismatch", Payload = payloadBytes > 0 ? ByteString.CopyFrom(new byte[payloadBytes]) : ByteString.CopyFromUtf8(id), OriginRegion = "a", AcceptedAtMs = 1 };

    private sealed class RecordingLogger : ILogger
    {
        private readonly ConcurrentQueue<(long At, string Text)> _entries = new();

        public IReadOnlyCollection<string> Messages => _entries.Select(e => e.Text).ToList();

        /// <summary>Each message with when it was logged (a <see cref="Stopwatch"/> timestamp).</summary>
        public IEnumerable<(long At, string Text)> Entries => _entries;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue((Stopwatch.GetTimestamp(), formatter(state, exception)));
    }
}
