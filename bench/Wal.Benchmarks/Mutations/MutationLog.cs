using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Benchmarks.Mutations;

/// <summary>
/// Writes mutations to a namespace's topic as the ingress writes them (WriteMutationChunk, then
/// CompleteMutation): one <see cref="LogEntry"/> per chunk with id <c>{request}/{sequence}</c> and one
/// for the marker with id <c>{request}/complete</c>, each keyed by the request id, through an
/// idempotent acks=all producer.
/// </summary>
internal sealed class MutationLog : IDisposable
{
    public const string Namespace = "bench";
    public const int ChunksPerMutation = 10;
    public const int Tables = 5;
    public const int ValueBytes = 100;
    private const string Region = "local";

    private readonly IProducer<byte[], byte[]> _producer;
    private readonly string _topic;
    private readonly byte[] _value;

    public MutationLog(string bootstrapServers, string topic)
    {
        _topic = topic;
        _value = new byte[ValueBytes];
        Random.Shared.NextBytes(_value);
        _producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = $"wal-ingress-{Region}",
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
        }).Build();
    }

    public static string RequestId(int mutation) => $"m{mutation}";

    /// <summary>The memcached key a chunk's put writes.</summary>
    public static string ItemKey(int mutation, int sequence) => $"{RequestId(mutation)}-{sequence}";

    public static string Table(int sequence) => $"table-{sequence % Tables}";

    /// <summary>The value of a chunk: the run's random bytes with the chunk's number stamped in front, so a wrong read-back shows.</summary>
    public byte[] Value(int mutation, int sequence)
    {
        var value = (byte[])_value.Clone();
        BinaryPrimitives.WriteInt32BigEndian(value, (mutation * ChunksPerMutation) + sequence);
        return value;
    }

    /// <summary>
    /// Produces mutations <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> − 1 and waits until Kafka
    /// has them. Within a mutation the last two chunks are swapped, so the processor really reorders.
    /// </summary>
    public async Task ProduceAsync(int first, int count, CancellationToken cancellationToken)
    {
        for (var m = first; m < first + count; m++)
        {
            var key = Encoding.UTF8.GetBytes(RequestId(m));
            for (var i = 0; i < ChunksPerMutation; i++)
            {
                var sequence = i >= ChunksPerMutation - 2 ? (2 * ChunksPerMutation) - 3 - i : i;
                Send(key, Entry($"{RequestId(m)}/{sequence}", e => e.Chunk = Chunk(m, sequence)));
            }

            var marker = new MutationCompletion { Namespace = Namespace, RequestId = RequestId(m), ChunkCount = ChunksPerMutation };
            Send(key, Entry($"{RequestId(m)}/complete", e => e.Completion = marker));
        }

        await Task.Run(() => _producer.Flush(cancellationToken), cancellationToken);
    }

    public void Dispose() => _producer.Dispose();

    private MutationChunk Chunk(int mutation, int sequence) => new()
    {
        Namespace = Namespace,
        RequestId = RequestId(mutation),
        Sequence = (uint)sequence,
        Table = Table(sequence),
        Put = new Put { Key = ByteString.CopyFromUtf8(ItemKey(mutation, sequence)), Value = ByteString.CopyFrom(Value(mutation, sequence)) },
        Version = 1,
    };

    private static LogEntry Entry(string id, Action<LogEntry> setBody)
    {
        var now = DateTimeOffset.UtcNow;
        var entry = new LogEntry
        {
            Id = id,
            Namespace = Namespace,
            Lifecycle = new Lifecycle { OriginalWriteTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) },
            AcceptedAtMs = now.ToUnixTimeMilliseconds(),
            OriginRegion = Region,
        };
        setBody(entry);
        return entry;
    }

    private void Send(byte[] key, LogEntry entry)
    {
        var message = new Message<byte[], byte[]> { Key = key, Value = entry.ToByteArray() };
        while (true)
        {
            try
            {
                _producer.Produce(_topic, message);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }
}
