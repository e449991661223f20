using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Ingress;
using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>
/// Puts a <see cref="LogEntry"/> back on its namespace's topic unchanged (same id, same
/// accepted_at_ms), keyed as the ingress keys it, with an idempotent acks=all producer. Sinks
/// dedupe by id and version, so a record produced twice changes nothing.
/// </summary>
/// <remarks>
/// A replay or a redrive writes records bigger than the ones it read: a mutation's chunks and marker under a longer
/// request id (<c>.replay-STAMP</c>, <c>.redrive-P-O</c>, in the entry's id, the chunk and the key), a retargeted entry
/// with another cluster name. The ingress writes records up to librdkafka's default <c>message.max.bytes</c>, so this
/// producer takes up to <see cref="Wal.Topology.RecordLimits.ProducerMaxMessageBytes"/>, as the topology's do for the
/// records it enlarges; at the default, one record near the ingress's limit failed every run at the same place.
/// Its callers send one record and wait for its acknowledgement before the next (so that they can say where they
/// stopped), so no batch ever forms: a linger only delayed each record, and 5 ms of it made a replay or a redrive of a
/// million records take over an hour and a half.
/// </remarks>
internal sealed class LogEntryProducer : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;

    public LogEntryProducer(string bootstrapServers) => _producer = new ProducerBuilder<byte[], byte[]>(Config(bootstrapServers)).Build();

    internal static ProducerConfig Config(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        Acks = Acks.All,
        EnableIdempotence = true,
        LingerMs = 0,
        MessageMaxBytes = Wal.Topology.RecordLimits.ProducerMaxMessageBytes,
    };

    /// <summary>
    /// Completes once the record is durably acknowledged; throws if it is not. <paramref name="headers"/> are the
    /// record's own (a writer's trace, a replicated record's origin), as it carried them before.
    /// </summary>
    public async Task<TopicPartitionOffset> ProduceAsync(string topic, LogEntry entry, CancellationToken cancellationToken, Headers? headers = null)
    {
        var result = await _producer.ProduceAsync(topic, new Message<byte[], byte[]> { Key = KeyOf(entry), Value = entry.ToByteArray(), Headers = headers }, cancellationToken);
        return result.Status == PersistenceStatus.Persisted
            ? result.TopicPartitionOffset
            : throw new CliException(ExitCodes.Failed, $"the record {entry.Id} was not acknowledged by Kafka ({result.Status})", "Run the command again; it resumes.");
    }

    public void Dispose() => _producer.Dispose();

    private static byte[] KeyOf(LogEntry entry) => entry.BodyCase switch
    {
        LogEntry.BodyOneofCase.Chunk => PartitionKey.ForMutation(entry.Chunk.RequestId),
        LogEntry.BodyOneofCase.Completion => PartitionKey.ForMutation(entry.Completion.RequestId),
        _ when entry.Target is not null => PartitionKey.ForWrite(entry.Target, entry.Id),
        _ => Encoding.UTF8.GetBytes(entry.Id),
    };
}
