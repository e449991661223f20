using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;
using Wal.Sinks.Kafka;

namespace Wal.Sinks.Tests;

public sealed class KafkaSinkTests : SinkContractTests, IClassFixture<KafkaClusterFixture>, IAsyncLifetime
{
    private readonly KafkaClusterFixture _kafka;
    private readonly KafkaSink _sink;

    public KafkaSinkTests(KafkaClusterFixture kafka)
    {
        _kafka = kafka;
        _sink = new KafkaSink(new KafkaSinkOptions
        {
            LocalBootstrapServers = kafka.Cluster.BootstrapServers,
            Clusters = new Dictionary<string, string> { ["remote"] = kafka.Cluster.BootstrapServers },
            DeliveryTimeout = TimeSpan.FromSeconds(5),
            // Reconnect quickly once the broker is back, so the outage test stays short.
            ProducerConfig = new Dictionary<string, string> { ["reconnect.backoff.ms"] = "50", ["reconnect.backoff.max.ms"] = "200" },
        });
    }

    protected override ISink Sink => _sink;

    protected override Target NewTarget()
    {
        var topic = "sink-" + Guid.NewGuid().ToString("N");
        _kafka.Cluster.CreateTopic(topic);
        return new Target { Kafka = new KafkaTarget { Cluster = "remote", Topic = topic, Key = ByteString.CopyFromUtf8("the-key") } };
    }

    protected override Task<byte[]?> ReadCurrentAsync(Target target)
    {
        var records = ReadAll(target.Kafka.Topic);
        // Consumers dedupe by the delivery id header, as the sink's contract tells them to.
        var distinct = records.DistinctBy(r => Encoding.UTF8.GetString(r.Headers.GetLastBytes(KafkaSink.DeliveryIdHeader))).ToList();
        return Task.FromResult(distinct.Count == 0 ? null : distinct[^1].Value);
    }

    protected override Task StopTargetAsync()
    {
        _kafka.Cluster.SetBrokerDown(1);
        return Task.CompletedTask;
    }

    protected override Task StartTargetAsync()
    {
        _kafka.Cluster.SetBrokerUp(1);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task DeliverAsync_Record_CarriesKeyIdAndVersionHeaders()
    {
        var target = NewTarget();
        var delivery = NewDelivery(target, "payload");

        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(delivery)).Outcome);

        var record = Assert.Single(ReadAll(target.Kafka.Topic));
        Assert.Equal("the-key", Encoding.UTF8.GetString(record.Key));
        Assert.Equal(delivery.Id, Encoding.UTF8.GetString(record.Headers.GetLastBytes(KafkaSink.DeliveryIdHeader)));
        Assert.Equal(delivery.Version.ToString(), Encoding.ASCII.GetString(record.Headers.GetLastBytes(KafkaSink.VersionHeader)));
    }

    // A delete was written as an empty value, which compaction keeps for good: the key was never deleted, and an empty
    // put looked the same.
    [Fact]
    public async Task DeliverAsync_Delete_WritesTheKeysTombstone_AnEmptyPutStaysAValue()
    {
        var put = NewTarget();
        var target = put.Clone();
        target.Kafka.Delete = true;

        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "not written"))).Outcome);
        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(put, string.Empty))).Outcome);

        var records = ReadAll(target.Kafka.Topic);
        Assert.Equal(2, records.Count);
        Assert.Equal("the-key", Encoding.UTF8.GetString(records[0].Key));
        Assert.Null(records[0].Value);
        Assert.Equal([], records[1].Value);
    }

    [Fact]
    public async Task DeliverAsync_EmptyClusterName_GoesToLocalCluster()
    {
        var target = NewTarget();
        target.Kafka.Cluster = string.Empty;

        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "local"))).Outcome);

        Assert.Equal("local", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_UnknownCluster_PermanentFailure()
    {
        var target = NewTarget();
        target.Kafka.Cluster = "mars";

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("mars", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_RecordAboveMessageMaxBytes_PermanentFailure()
    {
        var delivery = new Delivery("big", NewTarget(), new byte[2 * 1024 * 1024], NextVersion());

        var result = await _sink.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("MsgSizeTooLarge", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_FailureInANamedCluster_ErrorNamesTheCluster()
    {
        // Each region's cluster holds topics of the same names; a dead letter saying only "producing to 'orders'
        // failed" did not tell the operator which cluster refused it.
        var delivery = new Delivery("big-remote", NewTarget(), new byte[2 * 1024 * 1024], NextVersion());

        var result = await _sink.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("'remote'", result.Error, StringComparison.Ordinal);
        Assert.Contains($"'{delivery.Target.Kafka.Topic}'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_ProducerFailedFatally_ReplacedSoALaterDeliveryGoesThrough()
    {
        // librdkafka reports the fatal error to the producer's error handler only; the failed record carries the
        // underlying code. The sink kept the dead producer, and every later record to the cluster failed the same way.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("fatal");
        await using var sink = new KafkaSink(new KafkaSinkOptions { LocalBootstrapServers = cluster.BootstrapServers });
        cluster.PushRequestErrors(KafkaApi.InitProducerId, 31);
        var target = new Target { Kafka = new KafkaTarget { Topic = "fatal" } };

        // The first producer's only InitProducerId meets the pushed error, so it fails for good; but the mock broker
        // answers in microseconds, so whether that happens before or after the first record reaches the producer is the
        // scheduler's choice. Before: the record fails (purged, or with the error's code) and a later delivery gets a new
        // producer. After: the error handler has flagged the producer, the sink replaces it before use, and the very
        // first delivery lands (about 1 run in 14 under load, which the test used to call a failure). Either way no
        // record may be dead-lettered for it, and a delivery must go through; on the old code every delivery failed.
        var results = new List<DeliveryResult>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        do
        {
            results.Add(await sink.DeliverAsync(new Delivery("first", target, "a"u8.ToArray(), 1)));
        }
        while (!results[^1].Succeeded && DateTime.UtcNow < until);

        var shown = string.Join(" | ", results.Take(5).Select(r => $"{r.Outcome}: {r.Error}"));
        Assert.True(results[^1].Succeeded, shown);
        Assert.All(results.SkipLast(1), r => Assert.Equal(DeliveryOutcome.RetriableFailure, r.Outcome));
    }

    [Fact]
    public async Task DeliverAsync_BrokerAnswersClusterAuthorizationFailedOnce_RetriableAndTheRetryLands()
    {
        // For the sink's idempotent producer, CLUSTER_AUTHORIZATION_FAILED is about the producer (its producer id, the
        // IdempotentWrite permission), not the record; librdkafka makes it fatal to the producer, but the record that
        // met it can be reported before the error handler hears of it. The sink called it permanent then, and
        // dead-lettered a record a new producer would have written (the fatal-producer test, about 1 run in 18).
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("acl");
        await using var sink = new KafkaSink(new KafkaSinkOptions { LocalBootstrapServers = cluster.BootstrapServers });
        var target = new Target { Kafka = new KafkaTarget { Topic = "acl", Key = ByteString.CopyFromUtf8("k") } };
        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(new Delivery("warm", target, "w"u8.ToArray(), 1))).Outcome);
        cluster.PushRequestErrors(KafkaApi.Produce, 31);
        var delivery = new Delivery("acl-1", target, "p"u8.ToArray(), 2);

        var first = await sink.DeliverAsync(delivery);
        var retry = first.Succeeded ? first : await sink.DeliverAsync(delivery);

        Assert.True(first.Outcome == DeliveryOutcome.RetriableFailure, $"{first.Outcome}: {first.Error}");
        Assert.Contains("ClusterAuthorizationFailed", first.Error, StringComparison.Ordinal);
        Assert.Equal(DeliveryOutcome.Delivered, retry.Outcome);
    }

    [Fact]
    public async Task DeliverAsync_BrokerAnswersCorruptMessageOnce_RetriableAndTheRetryLands()
    {
        // CORRUPT_MESSAGE (2) is a CRC mismatch on the way to the broker: Kafka marks it retriable (the Java client's
        // CorruptRecordException is a RetriableException). The sink called it permanent, so one flipped bit on the
        // wire sent the record to the dead-letter topic although the very next attempt lands.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("crc");
        await using var sink = new KafkaSink(new KafkaSinkOptions { LocalBootstrapServers = cluster.BootstrapServers });
        var target = new Target { Kafka = new KafkaTarget { Topic = "crc", Key = ByteString.CopyFromUtf8("k") } };
        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(new Delivery("warm", target, "w"u8.ToArray(), 1))).Outcome);
        cluster.PushRequestErrors(KafkaApi.Produce, 2);
        var delivery = new Delivery("crc-1", target, "p"u8.ToArray(), 2);

        var first = await sink.DeliverAsync(delivery);
        var retry = await sink.DeliverAsync(delivery);

        Assert.True(first.Outcome == DeliveryOutcome.RetriableFailure, $"{first.Outcome}: {first.Error}");
        Assert.Equal(DeliveryOutcome.Delivered, retry.Outcome);
    }

    [Fact]
    public async Task DeliverAsync_KnownTopicMissingFromOneMetadataAnswer_RetriableAndLandsOnceItIsBack()
    {
        // A broker whose metadata lags (restarted, or not yet caught up after a failover) answers
        // UNKNOWN_TOPIC_OR_PARTITION for a topic that exists; librdkafka then fails the queued records at once with
        // Local_UnknownTopic. The sink called that permanent, so a metadata blip dead-lettered records that the next
        // attempt delivers.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("blip");
        await using var sink = new KafkaSink(new KafkaSinkOptions
        {
            LocalBootstrapServers = cluster.BootstrapServers,
            ProducerConfig = new Dictionary<string, string> { ["topic.metadata.refresh.interval.ms"] = "100" },
        });
        var target = new Target { Kafka = new KafkaTarget { Topic = "blip", Key = ByteString.CopyFromUtf8("k") } };
        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(new Delivery("warm", target, "w"u8.ToArray(), 1))).Outcome);
        cluster.SetTopicError("blip", 3);
        var during = new Delivery("during-blip", target, "d"u8.ToArray(), 2);
        DeliveryResult failed;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        do
        {
            // Delivered until the producer has read the metadata that lacks the topic.
            failed = await sink.DeliverAsync(during);
        }
        while (failed.Outcome == DeliveryOutcome.Delivered && DateTime.UtcNow < deadline);

        cluster.SetTopicError("blip", 0);
        DeliveryResult retried;
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        do
        {
            retried = await sink.DeliverAsync(during);
        }
        while (retried.Outcome == DeliveryOutcome.RetriableFailure && DateTime.UtcNow < deadline);

        Assert.True(failed.Outcome == DeliveryOutcome.RetriableFailure, $"{failed.Outcome}: {failed.Error}");
        Assert.True(retried.Outcome == DeliveryOutcome.Delivered, $"{retried.Outcome}: {retried.Error}");
    }

    [Fact]
    public async Task DeliverAsync_TopicTheClusterLacks_RetriableNamingTheUnknownTopic_WithinTheDeliveryTimeout()
    {
        // A target topic the cluster does not have (auto-create off: the broker answers UNKNOWN_TOPIC_OR_PARTITION).
        // librdkafka calls a topic it has never seen missing only after topic.metadata.propagation.max.ms (30 s), far past
        // the message timeout (5 s): every attempt ended as "Message timed out", or as the topology's own "no answer from
        // the target within 5 s", which it gives up at the same time, and the dead letter read like a cluster that is down.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.SetTopicError("missing", 3);
        var options = new KafkaSinkOptions { LocalBootstrapServers = cluster.BootstrapServers };
        await using var sink = new KafkaSink(options);
        var target = new Target { Kafka = new KafkaTarget { Topic = "missing", Key = ByteString.CopyFromUtf8("k") } };
        // As the topology calls it: the attempt ends at its delivery timeout, the same as the sink's.
        using var attempt = new CancellationTokenSource(options.DeliveryTimeout);

        var result = await sink.DeliverAsync(new Delivery("to-missing", target, "p"u8.ToArray(), 1), attempt.Token);

        Assert.True(result.Outcome == DeliveryOutcome.RetriableFailure, $"{result.Outcome}: {result.Error}");
        Assert.True(result.Error!.Contains("UnknownTopic", StringComparison.Ordinal), result.Error);
    }

    [Fact]
    public void Constructor_DeliveryTimeoutUnderAMillisecond_Refused()
    {
        // message.timeout.ms is whole milliseconds, and 0 means never give up.
        var error = Assert.Throws<ArgumentException>(() => new KafkaSink(new KafkaSinkOptions
        {
            LocalBootstrapServers = _kafka.Cluster.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromMilliseconds(0.5),
        }));

        Assert.Contains("at least 1 ms", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_ReservedTopic_PermanentFailureNothingWritten()
    {
        var target = NewTarget();
        await using var sink = new KafkaSink(new KafkaSinkOptions
        {
            Clusters = new Dictionary<string, string> { ["remote"] = _kafka.Cluster.BootstrapServers },
            ReservedTopic = topic => topic == target.Kafka.Topic ? $"'{topic}', Wal's own" : null,
        });

        var result = await sink.DeliverAsync(NewDelivery(target, "forged"));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("Wal's own", result.Error, StringComparison.Ordinal);
        Assert.Empty(ReadAll(target.Kafka.Topic));
    }

    [Fact]
    public void Constructor_UnknownProducerSetting_ArgumentErrorNamingIt()
    {
        var error = Assert.Throws<ArgumentException>(() => new KafkaSink(new KafkaSinkOptions
        {
            LocalBootstrapServers = _kafka.Cluster.BootstrapServers,
            ProducerConfig = new Dictionary<string, string> { ["linger.msec"] = "5" },
        }));

        Assert.Contains("linger.msec", error.Message, StringComparison.Ordinal);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sink.DisposeAsync();

    private List<Message<byte[], byte[]>> ReadAll(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = _kafka.Cluster.BootstrapServers,
            GroupId = "sink-tests",
            EnableAutoCommit = false,
        }).Build();
        var partition = new TopicPartition(topic, 0);
        var end = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High;
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var records = new List<Message<byte[], byte[]>>();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (records.Count < end && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                records.Add(result.Message);
            }
        }

        Assert.Equal(end.Value, records.Count);
        return records;
    }
}
