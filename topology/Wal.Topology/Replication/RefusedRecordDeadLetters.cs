using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka;
using Wal.Topology.Dispatch;

namespace Wal.Topology.Replication;

/// <summary>
/// Writes the records a remote region refused for good to this region's dead-letter topic. The dead letters of one pass
/// are all produced before any is awaited, and awaited together under one deadline: one after the other, each with a
/// wait of its own, a slow local cluster held the replicator (and a revocation the whole group waits for) for their sum.
/// </summary>
internal sealed partial class RefusedRecordDeadLetters(RegionReplicatorOptions options, string topic, ILogger logger) : IDisposable
{
    // An idempotent producer librdkafka failed for good refuses every later record: kept, it failed each dead letter from
    // then on, and each refused record's partition stalled. Built at the first record the remote refuses for good.
    private RenewingProducer<byte[], byte[]>? _producer;

    public string Topic => topic;

    /// <summary>
    /// Errors about a record, which every re-send meets again. A broker gives them for a whole batch, so they are the
    /// record's own only when it was alone in it: the replicator re-sends a refused batch's records one at a time first.
    /// </summary>
    public static bool IsForGood(ErrorCode code) =>
        code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidRecord or ErrorCode.InvalidTimestamp;

    /// <summary>Waits until every write ended or <paramref name="wait"/> passed; each write's own task says how it ended.</summary>
    public static void AwaitAll(IEnumerable<Task> writes, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            Task.WhenAll(writes).Wait(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken);
        }
        catch (Exception e) when (e is AggregateException or OperationCanceledException)
        {
            // The writes that failed, or were not taken in time, are the caller's to re-send.
        }
    }

    /// <summary>Produces the dead letter of one refused record; the task ends when the local cluster has taken it.</summary>
    public Task Write(Message<byte[], byte[]> refused, Error error, int partition, long offset)
    {
        // A redriven record can carry an earlier dead letter's headers: each one this dead letter sets is there once, with
        // its value. The origin headers are the remote copy's; here at home the record is the original.
        var headers = CarriedHeaders.From(refused.Headers);
        headers.Remove(ReplicationHeaders.OriginRegion);
        headers.Remove(ReplicationHeaders.OriginPosition);
        headers.Remove(ReplicationHeaders.RefusedBy);
        var failure = $"region {options.RemoteRegion} refused the replicated record for good: {error.Reason} ({error.Code})";
        DeadLetterHeaders.AddOwn(
            headers, failure, DeadLetterReasons.Permanent, 1, options.Namespace, options.Topic, partition, offset, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        headers.Add(ReplicationHeaders.RefusedBy, Encoding.UTF8.GetBytes(options.RemoteRegion));
        try
        {
            _producer ??= BuildProducer();
            return _producer.Current.ProduceAsync(topic, new Message<byte[], byte[]> { Key = refused.Key, Value = refused.Value, Headers = headers });
        }
        catch (KafkaException e)
        {
            return Task.FromException(e);
        }
    }

    public void Dispose() => _producer?.Dispose();

    private RenewingProducer<byte[], byte[]> BuildProducer() =>
        new(new ProducerConfig
        {
            BootstrapServers = options.LocalBootstrapServers,
            ClientId = $"{options.GroupId}-dead-letters",
            EnableIdempotence = true,
            Acks = Acks.All,
            // The local topic took the record, perhaps bigger than the remote producer's limit (that can be why it is
            // here), and the dead-letter headers add to it: the local broker's own limit decides.
            MessageMaxBytes = 64 * 1024 * 1024,
        }, error => LogClientError(logger, options.GroupId, error.Reason));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Replicator {Group}: dead-letter producer error: {Reason}.")]
    private static partial void LogClientError(ILogger logger, string group, string reason);
}
