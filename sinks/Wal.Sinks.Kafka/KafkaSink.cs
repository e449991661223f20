using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Wal.Schemas.V1;

namespace Wal.Sinks.Kafka;

/// <summary>
/// Delivers to <see cref="Target.Kafka"/> targets: produces the payload, keyed by the target's key,
/// with an idempotent producer and <c>acks=all</c>, to the topic in the named cluster (empty: local).
/// </summary>
/// <remarks>
/// Kafka targets are at least once. The idempotent producer removes duplicates from its own
/// retries, but a redelivery of the same record (after a crash, or a retry after a timeout whose
/// record did land) is appended again. Every record therefore carries the delivery id and version in
/// the <see cref="DeliveryIdHeader"/> and <see cref="VersionHeader"/> headers, and consumers dedupe
/// by id (and may drop versions older than one they have seen). No version guard is possible here:
/// a topic is a log, not a slot that holds the newest value.
/// </remarks>
public sealed class KafkaSink : ISink
{
    /// <summary>Header carrying <see cref="Delivery.Id"/> (UTF-8).</summary>
    public const string DeliveryIdHeader = "Wal-Delivery-Id";

    /// <summary>Header carrying <see cref="Delivery.Version"/> (decimal, ASCII).</summary>
    public const string VersionHeader = "Wal-Version";

    private const string PropagationSetting = "topic.metadata.propagation.max.ms";

    private readonly KafkaSinkOptions _options;
    private readonly ConcurrentDictionary<string, Lazy<ClusterProducer>> _producers = new(StringComparer.Ordinal);

    /// <param name="options">Validated here, the producer settings too (librdkafka checks their names only when a producer is built).</param>
    public KafkaSink(KafkaSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        try
        {
            // No brokers: the check needs librdkafka to read the settings, not to reach a cluster (which a throwaway
            // producer would otherwise connect to, and ask for a producer id, while it is being disposed). Silent, or
            // librdkafka warns on every start that no brokers are configured; a bad setting still throws.
            Build(servers: string.Empty, silent: true).Producer.Dispose();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KafkaException)
        {
            throw new ArgumentException($"KafkaSinkOptions.ProducerConfig: {e.Message}", nameof(options), e);
        }
    }

    public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.Target?.Kafka is not { } target)
        {
            return DeliveryResult.Permanent($"KafkaSink got a {delivery.Target?.DestinationCase} target; it delivers only to Kafka.");
        }

        if (string.IsNullOrWhiteSpace(target.Topic))
        {
            return DeliveryResult.Permanent("The Kafka target names no topic.");
        }

        if (_options.ReservedTopic?.Invoke(target.Topic) is { } reserved)
        {
            return DeliveryResult.Permanent($"The Kafka target may not write to {reserved}.");
        }

        if (_options.BootstrapServersFor(target.Cluster) is not { } servers)
        {
            return DeliveryResult.Permanent(string.IsNullOrEmpty(target.Cluster)
                ? "The Kafka target names no cluster and no local cluster is configured."
                : $"No Kafka cluster named '{target.Cluster}' is configured (known: {string.Join(", ", _options.Clusters.Keys)}).");
        }

        var producer = Producer(target.Cluster, servers);
        if (producer.Fatal)
        {
            // Failed for good since its last delivery: every record it takes would fail the same way.
            Replace(target.Cluster, producer);
            producer = Producer(target.Cluster, servers);
        }

        var message = new Message<byte[], byte[]>
        {
            Key = target.Key.IsEmpty ? null! : target.Key.ToByteArray(),
            // A delete's tombstone has no value at all: an empty one is a value, which compaction keeps for good.
            Value = target.Delete ? null! : delivery.Payload.ToArray(),
            Headers =
            [
                new Header(DeliveryIdHeader, Encoding.UTF8.GetBytes(delivery.Id)),
                new Header(VersionHeader, Encoding.ASCII.GetBytes(delivery.Version.ToString(CultureInfo.InvariantCulture))),
            ],
        };
        try
        {
            var report = await producer.Producer.ProduceAsync(target.Topic, message, cancellationToken);
            return report.Status == PersistenceStatus.Persisted
                ? DeliveryResult.Delivered
                : DeliveryResult.Retriable($"Kafka reported the record to '{target.Topic}' in {ClusterText(target.Cluster)} as {report.Status}.");
        }
        catch (ProduceException<byte[], byte[]> error)
        {
            return Classify(target.Cluster, producer, error.Error, target.Topic);
        }
        catch (KafkaException error)
        {
            return Classify(target.Cluster, producer, error.Error, target.Topic);
        }
        catch (ObjectDisposedException)
        {
            // Another delivery replaced this producer after a fatal error while we were using it.
            return DeliveryResult.Retriable($"The producer for Kafka cluster '{target.Cluster}' was replaced after a fatal error.");
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var producer in _producers.Values.Where(p => p.IsValueCreated).Select(p => p.Value.Producer))
        {
            producer.Flush(TimeSpan.FromSeconds(5));
            producer.Dispose();
        }

        _producers.Clear();
        return ValueTask.CompletedTask;
    }

    private DeliveryResult Classify(string cluster, ClusterProducer producer, Error error, string topic)
    {
        // librdkafka 2.0.2 reports a fatal error as fatal only to the error handler; the records it fails carry the
        // underlying code with IsFatal false. Either way the idempotent producer is unusable: a fresh one serves the retry.
        var fatal = error.IsFatal || producer.Fatal;
        var text = $"Producing to '{topic}' in {ClusterText(cluster)} failed: {error.Code} ({error.Reason}){(fatal ? ", fatal" : string.Empty)}.";
        if (fatal)
        {
            Replace(cluster, producer);
            // The error came from the producer, not the record: the record may well go through a new one.
            return DeliveryResult.Retriable(text);
        }

        return KafkaErrorClassifier.IsPermanent(error) ? DeliveryResult.Permanent(text) : DeliveryResult.Retriable(text);
    }

    // Regions hold topics of the same names: a dead letter must say which cluster refused the record.
    private static string ClusterText(string cluster) => string.IsNullOrEmpty(cluster) ? "the local Kafka cluster" : $"Kafka cluster '{cluster}'";

    private void Replace(string cluster, ClusterProducer producer)
    {
        if (_producers.TryGetValue(cluster, out var current) && current.IsValueCreated
            && ReferenceEquals(current.Value, producer) && _producers.TryRemove(KeyValuePair.Create(cluster, current)))
        {
            producer.Producer.Dispose();
        }
    }

    private ClusterProducer Producer(string cluster, string servers) =>
        _producers.GetOrAdd(cluster, _ => new Lazy<ClusterProducer>(() => Build(servers))).Value;

    private ClusterProducer Build(string servers, bool silent = false)
    {
        var config = new ProducerConfig(_options.ProducerConfig.ToDictionary(p => p.Key, p => p.Value))
        {
            BootstrapServers = servers,
            Acks = Acks.All,
            EnableIdempotence = true,
            MessageTimeoutMs = (int)_options.DeliveryTimeout.TotalMilliseconds,
        };
        if (!_options.ProducerConfig.ContainsKey(PropagationSetting))
        {
            // librdkafka calls a topic it has never seen missing only after this (30 s by default), far past the message
            // timeout: a target topic the cluster lacks timed out on every attempt, and its dead letter read like a cluster
            // that is down. Under the timeout, such a record fails as an unknown topic (retriable: found once created).
            config.Set(PropagationSetting, ((int)Math.Max(1, _options.DeliveryTimeout.TotalMilliseconds / 2)).ToString(CultureInfo.InvariantCulture));
        }

        var holder = new ClusterProducer();
        var builder = new ProducerBuilder<byte[], byte[]>(config)
            .SetErrorHandler((_, error) =>
            {
                if (error.IsFatal)
                {
                    holder.Fatal = true;
                }
            });
        if (silent)
        {
            builder.SetLogHandler(static (_, _) => { });
        }

        holder.Producer = builder.Build();
        return holder;
    }

    /// <summary>One cluster's producer, and whether librdkafka has told its error handler it failed for good.</summary>
    private sealed class ClusterProducer
    {
        public IProducer<byte[], byte[]> Producer { get; set; } = null!;

        public volatile bool Fatal;
    }
}
