using System.Diagnostics;
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
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _fatalError;

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
            // The classifier reads only the status, the error and the position (always filled);
            // the default "all" copies every record's key, value and headers back into managed
            // arrays for each delivery report, for nothing.
            DeliveryReportFields = "status",
        };
        foreach (var (name, value) in options.ProducerSettings)
        {
            config.Set(name, value);
        }

        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetErrorHandler((_, error) => OnError(error))
            .SetLogHandler((_, message) => LogLibrdkafka(_logger, message.Facility, message.Message))
            .Build();
    }

    /// <summary>
    /// Why the producer can no longer write, once librdkafka reported a fatal error (an idempotent
    /// producer that lost its sequence guarantees); null while healthy. Nothing in this process
    /// revives it: every later record is refused, so readiness fails and the instance must restart.
    /// </summary>
    public string? FatalError => _fatalError;

    /// <summary>
    /// Completes with <see cref="FatalError"/> once librdkafka reports a fatal error; never completes otherwise. For a
    /// host that no orchestrator restarts on a failed <c>/healthz</c> (<c>wal up</c>, <c>wal ingress</c> under a plain
    /// supervisor): awaited beside its other stop conditions, it stops the process instead of serving refusals forever.
    /// </summary>
    public Task<string> Failed => _failed.Task;

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
    /// Produces one record; the task ends with its delivery report. Never throws for Kafka's
    /// reasons: the outcome says what happened. <paramref name="release"/> is called with
    /// <paramref name="owner"/> and the value's length once Kafka has answered (or refused the
    /// record), before the task completes, on whichever thread that is.
    /// </summary>
    public Task<ProduceOutcome> ProduceAsync(string topic, byte[] key, byte[] value, string owner, Action<string, int>? release)
    {
        // One object per write is the delivery handler's target, the released reservation's
        // state and the task's source: no closure, no async state machine on this path.
        var report = new PendingProduce(release, owner, value.Length);
        Produce(topic, key, value, report);
        return report.Task;
    }

    /// <summary>
    /// Produces one record and gives its answer to <paramref name="report"/>, exactly once. Never
    /// throws: a record librdkafka refuses is answered at once, on this thread.
    /// </summary>
    public void Produce(string topic, byte[] key, byte[] value, IProduceReport report)
    {
        ProduceOutcome refusal;
        try
        {
            _producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value }, report.OnReport);
            return;
        }
        catch (ProduceException<byte[], byte[]> e)
        {
            refusal = DurabilityClassifier.FromRefusal(e.Error);
        }
        catch (KafkaException e)
        {
            refusal = DurabilityClassifier.FromRefusal(e.Error);
        }
        catch (ObjectDisposedException)
        {
            refusal = ProduceOutcome.NotWritten("The ingress is shutting down; the record was not written.");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not Kafka's refusal, so not a known "not written": the caller must not retry blindly,
            // and the report must still be answered or its reservation would never be given back.
            LogProduceFailed(_logger, e, topic);
            refusal = ProduceOutcome.Unknown("The write failed unexpectedly; it may or may not be durable.");
        }

        try
        {
            report.Answer(refusal);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The report's own bookkeeping failed after it answered. Thrown on to the caller, it
            // would read as "no answer yet" and answer the write a second time. Logged instead, as
            // Confluent does for a report that throws on its delivery thread.
            LogReportFailed(_logger, e, topic);
        }
    }

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            _fatalError = $"{error.Code}: {error.Reason}";
            LogFatal(_logger, error.Code, error.Reason);
            // Asynchronous continuations: a host stopping on it must not run on librdkafka's thread, which disposing the producer joins.
            _failed.TrySetResult(_fatalError);
            return;
        }

        LogKafkaError(_logger, error.Code, error.Reason);
    }

    /// <summary>
    /// Waits until every record handed over so far has Kafka's answer, or the timeout; returns how many still wait,
    /// which is more than 0 only once the timeout has passed.
    /// </summary>
    public int Flush(TimeSpan timeout)
    {
        // Confluent's Flush ignores librdkafka's flush result and returns rd_kafka_outq_len read after it. A flush
        // that ended because it saw nothing left then counts a record produced in between (a stream's next write,
        // started as an answer freed its slot) or a callback queued meanwhile: "1 still waiting", long before the
        // timeout. Flushing again until the deadline keeps a count above 0 meaning "timed out".
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            var waiting = _producer.Flush(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            if (waiting == 0 || remaining <= TimeSpan.Zero)
            {
                return waiting;
            }
        }
    }

    /// <summary>
    /// Waits up to the produce timeout for records in flight, so their callers get a true answer; warns with the count of
    /// those still unanswered after it, which the disposal drops without a delivery report.
    /// </summary>
    public void Dispose()
    {
        try
        {
            // After an incident, the count is what tells an operator how many writes may or may not be in the log.
            if (Flush(_produceTimeout) is var unanswered and > 0)
            {
                LogUnansweredAtStop(_logger, unanswered, _produceTimeout);
            }
        }
        finally
        {
            _producer.Dispose();
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Kafka producer error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Critical, Message = "Kafka producer failed fatally ({Code}: {Reason}); every write is now refused and /readyz fails: restart this instance")]
    private static partial void LogFatal(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Error, Message = "Producing to {Topic} threw unexpectedly; the write was answered UNKNOWN")]
    private static partial void LogProduceFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "The report of a write to {Topic} that Kafka refused at once threw; the write was answered, its bookkeeping may be off")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Stopping with {Unanswered} write(s) unanswered by Kafka after waiting {FlushTimeout} for them; each may or may not be durable")]
    private static partial void LogUnansweredAtStop(ILogger logger, int unanswered, TimeSpan flushTimeout);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "librdkafka {Facility}: {Message}")]
    private static partial void LogLibrdkafka(ILogger logger, string facility, string message);
}
