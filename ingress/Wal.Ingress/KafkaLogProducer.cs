using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Wal.Ingress;

/// <summary>
/// The one producer an ingress instance shares across all calls: idempotent, acks=all, so a
/// delivery report of Persisted means every in-sync replica has the record and retries inside
/// librdkafka never duplicate or reorder it.
/// </summary>
public sealed partial class KafkaLogProducer : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly ILogger _logger;
    private readonly TimeSpan _produceTimeout;

    public KafkaLogProducer(IngressOptions options, ILogger<KafkaLogProducer> logger)
    {
        _logger = logger;
        _produceTimeout = options.ProduceTimeout;
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            ClientId = $"wal-ingress-{options.Region}",
            Acks = Acks.All,
            EnableIdempotence = true,
            MessageTimeoutMs = (int)options.ProduceTimeout.TotalMilliseconds,
            LingerMs = options.Linger.TotalMilliseconds,
            // The socket may wait at most as long as the record may: a request timeout above the
            // message timeout would only delay the UNKNOWN answer.
            RequestTimeoutMs = (int)Math.Min(30_000, options.ProduceTimeout.TotalMilliseconds),
            // librdkafka backs off up to 10 s between reconnects by default: longer than a produce
            // timeout, so a broker back from a blip would still see writes time out as UNKNOWN.
            ReconnectBackoffMaxMs = 1000,
        };
        foreach (var (name, value) in options.ProducerSettings)
        {
            config.Set(name, value);
        }

        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetErrorHandler((_, error) => LogKafkaError(_logger, error.Code, error.Reason, error.IsFatal))
            .SetLogHandler((_, message) => LogLibrdkafka(_logger, message.Facility, message.Message))
            .Build();
    }

    /// <summary>Asks librdkafka whether it knows the cluster (for readiness); false on any failure.</summary>
    public bool CanReachCluster(TimeSpan timeout)
    {
        try
        {
            using var admin = new DependentAdminClientBuilder(_producer.Handle).Build();
            return admin.GetMetadata(timeout).Brokers.Count > 0;
        }
        catch (KafkaException)
        {
            return false;
        }
    }

    /// <summary>
    /// Produces one record and waits for its delivery report. Never throws for Kafka's reasons:
    /// the outcome says what happened. Cancellation only stops the wait; the record may still be
    /// written, so the caller must answer UNKNOWN.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token fired before Kafka answered.</exception>
    public async Task<ProduceOutcome> ProduceAsync(string topic, byte[] key, byte[] value, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var report = new TaskCompletionSource<ProduceOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value }, r =>
                report.TrySetResult(DurabilityClassifier.FromReport(r, r.Error)));
        }
        catch (ProduceException<byte[], byte[]> e)
        {
            return DurabilityClassifier.FromRefusal(e.Error);
        }
        catch (KafkaException e)
        {
            return DurabilityClassifier.FromRefusal(e.Error);
        }
        catch (ObjectDisposedException)
        {
            return ProduceOutcome.NotWritten("The ingress is shutting down; the record was not written.");
        }

        return await report.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Waits up to the produce timeout for records in flight, so their callers get a true answer.</summary>
    public void Dispose()
    {
        try
        {
            _producer.Flush(_produceTimeout);
        }
        finally
        {
            _producer.Dispose();
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Kafka producer error {Code}: {Reason} (fatal: {IsFatal})")]
    private static partial void LogKafkaError(ILogger logger, ErrorCode code, string reason, bool isFatal);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "librdkafka {Facility}: {Message}")]
    private static partial void LogLibrdkafka(ILogger logger, string facility, string message);
}
