using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Cli.Local;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;
using Wal.Topology.Mutations;
using Wal.Topology.State;

namespace Wal.Cli.Tests.Operator;

/// <summary>One <c>wal up</c> stack on free ports for the operator-command tests, and helpers to run commands.</summary>
public sealed class OperatorStackFixture : IAsyncLifetime
{
    private LocalStack? _stack;
    private IProducer<byte[], byte[]>? _producer;
    // Dead letters are written by the topology, whose producers take records up to RecordLimits.ProducerMaxMessageBytes.
    private IProducer<byte[], byte[]>? _deadLetterProducer;

    internal LocalStack Stack => _stack ?? throw new InvalidOperationException("not started");

    public string Bootstrap => Stack.Kafka.BootstrapServers;

    public string Address => Stack.IngressAddress.ToString();

    public async Task InitializeAsync()
    {
        _stack = await LocalStack.StartAsync(
            new LocalStackOptions
            {
                NamespacesFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json"),
                Brokers = 1,
                IngressPort = 0,
                AdminPort = 0,
                TopologyAdminPort = 0,
                MemcachedPort = 0,
                StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-cli-{Guid.NewGuid():N}"),
                // wal status tests wait for the topology's committed offsets.
                CommitInterval = TimeSpan.FromSeconds(1),
            },
            NullLoggerFactory.Instance);
        _producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = Bootstrap, Acks = Acks.All }).Build();
        _deadLetterProducer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = Bootstrap, Acks = Acks.All, MessageMaxBytes = Wal.Topology.RecordLimits.ProducerMaxMessageBytes,
        }).Build();
    }

    public async Task DisposeAsync()
    {
        _producer?.Dispose();
        _deadLetterProducer?.Dispose();
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    /// <summary>Runs <c>wal ARGS</c> in-process and captures what it printed.</summary>
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await WalCommandLine.RunAsync(args, output, error);
        return new CliRun(exit, output.ToString(), error.ToString());
    }

    /// <summary>Creates a namespace (one partition unless told) with a fresh name through <c>wal namespaces apply</c>.</summary>
    public async Task<string> CreateNamespaceAsync(int partitions = 1)
    {
        var name = $"op-{Guid.NewGuid():N}"[..15];
        var file = Path.Combine(Path.GetTempPath(), $"{name}.json");
        await File.WriteAllTextAsync(file, $$"""{"namespaces": [{"name": "{{name}}", "partitions": {{partitions}}, "defaultTarget": { "memcached": { "cluster": "nowhere" } } }]}""");
        var run = await RunAsync("namespaces", "apply", "-f", file, "--address", Address);
        File.Delete(file);
        Assert.True(run.Exit == 0, run.ToString());
        return name;
    }

    public static LogEntry Entry(string ns, string id, long acceptedAtMs = 1_700_000_000_000) => new()
    {
        Id = id,
        Namespace = ns,
        Payload = ByteString.CopyFromUtf8($"payload of {id}"),
        AcceptedAtMs = acceptedAtMs,
        Target = new Target { Memcached = new MemcachedTarget { Cluster = "nowhere", Key = id } },
    };

    /// <summary>
    /// Produces a dead letter as the topology does: key = id (or <paramref name="key"/>, as for a record dead-lettered as
    /// it was read), value = the entry (or <paramref name="entry"/>), headers say why.
    /// </summary>
    public async Task ProduceDeadLetterAsync(string ns, string id, string reason, string error, byte[]? key = null, LogEntry? entry = null, Headers? carried = null)
    {
        var headers = carried ?? [];
        foreach (var own in new Headers
        {
            { DeadLetterHeaders.Error, Encoding.UTF8.GetBytes(error) },
            { DeadLetterHeaders.Reason, Encoding.UTF8.GetBytes(reason) },
            { DeadLetterHeaders.Attempts, Encoding.UTF8.GetBytes("8") },
            { DeadLetterHeaders.Namespace, Encoding.UTF8.GetBytes(ns) },
            { DeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes($"wal.{ns}") },
            { DeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes("0") },
            { DeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes("42") },
            { DeadLetterHeaders.FailedAtMs, Encoding.UTF8.GetBytes("1763776800000") },
        })
        {
            headers.Add(own.Key, own.GetValueBytes());
        }

        await _deadLetterProducer!.ProduceAsync(
            $"wal.{ns}.dlq", new Message<byte[], byte[]> { Key = key ?? Encoding.UTF8.GetBytes(id), Value = (entry ?? Entry(ns, id)).ToByteArray(), Headers = headers });
    }

    /// <summary>Produces one part of a mutation's dead letter as the topology does: key = request id, value = a DeadMutation.</summary>
    public async Task ProduceMutationDeadLetterAsync(string ns, DeadMutation dead, int chunksStored, string part, long sourceOffset, string reason = "retriable")
    {
        var headers = new Headers
        {
            { DeadLetterHeaders.Error, Encoding.UTF8.GetBytes("Could not connect to memcached") },
            { DeadLetterHeaders.Reason, Encoding.UTF8.GetBytes(reason) },
            { DeadLetterHeaders.Attempts, Encoding.UTF8.GetBytes("8") },
            { DeadLetterHeaders.Namespace, Encoding.UTF8.GetBytes(ns) },
            { DeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes($"wal.{ns}") },
            { DeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes("0") },
            { DeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(sourceOffset.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
            { DeadLetterHeaders.FailedAtMs, Encoding.UTF8.GetBytes("1763776800000") },
            { MutationDeadLetterHeaders.RequestId, Encoding.UTF8.GetBytes(dead.RequestId) },
            { MutationDeadLetterHeaders.ChunkCount, Encoding.UTF8.GetBytes(dead.ChunkCount.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
            { MutationDeadLetterHeaders.ChunksStored, Encoding.UTF8.GetBytes(chunksStored.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
            { MutationDeadLetterHeaders.NextSequence, Encoding.UTF8.GetBytes("0") },
            { MutationDeadLetterHeaders.Part, Encoding.UTF8.GetBytes(part) },
        };
        await _deadLetterProducer!.ProduceAsync($"wal.{ns}.dlq", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(dead.RequestId), Value = dead.ToByteArray(), Headers = headers });
    }

    /// <summary>
    /// A mutation chunk's log entry (keyed by its id, as <see cref="ProduceEntryAsync"/> keys it) padded to within a few
    /// bytes of the largest record the ingress's producer takes: librdkafka's default message.max.bytes (1,000,000),
    /// less its 36 bytes of per-record overhead.
    /// </summary>
    public static LogEntry ChunkNearTheRecordLimit(string ns, string requestId, uint sequence, int slack = 14)
    {
        var chunk = new MutationChunk
        {
            Namespace = ns, RequestId = requestId, Sequence = sequence, Table = "local", Version = 10,
            Put = new Put { Key = ByteString.CopyFromUtf8($"{requestId}-{sequence}"), Value = ByteString.Empty },
        };
        var entry = new LogEntry
        {
            Id = $"{requestId}/{sequence}", Namespace = ns, AcceptedAtMs = 1_700_000_000_000, Chunk = chunk,
            Lifecycle = new Lifecycle { OriginalWriteTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)) },
        };
        var wanted = 1_000_000 - 36 - slack;
        for (var i = 0; i < 4; i++)
        {
            var size = entry.CalculateSize() + Encoding.UTF8.GetByteCount(entry.Id);
            chunk.Put.Value = ByteString.CopyFrom(new byte[chunk.Put.Value.Length + (wanted - size)]);
        }

        Assert.Equal(wanted, entry.CalculateSize() + Encoding.UTF8.GetByteCount(entry.Id));
        return entry;
    }

    public async Task ProduceEntryAsync(string ns, LogEntry entry, int partition = 0, Headers? headers = null) =>
        await _producer!.ProduceAsync(new TopicPartition($"wal.{ns}", partition), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray(), Headers = headers });

    /// <summary>A record in the namespace's topic that is not a LogEntry (written around the ingress).</summary>
    public async Task ProduceGarbageAsync(string ns, byte[] value) =>
        await _producer!.ProduceAsync(new TopicPartition($"wal.{ns}", 0), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("garbage"), Value = value });

    /// <summary>The first offset partition 0 of <paramref name="topic"/> still holds.</summary>
    public long LowWatermark(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig { BootstrapServers = Bootstrap, GroupId = $"test-{Guid.NewGuid():N}" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).Low.Value;
    }

    /// <summary>Every entry now in the namespace's topic, in offset order.</summary>
    public IReadOnlyList<LogEntry> ReadTopic(string topic) => [.. ReadRecords(topic).Select(r => r.Entry)];

    /// <summary>Every record now in partition 0 of <paramref name="topic"/>, in offset order: its entry and its headers.</summary>
    public IReadOnlyList<(LogEntry Entry, Headers Headers)> ReadRecords(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig { BootstrapServers = Bootstrap, GroupId = $"test-{Guid.NewGuid():N}" }).Build();
        var partition = new TopicPartition(topic, 0);
        var high = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
        var records = new List<(LogEntry, Headers)>();
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (records.Count < high && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                records.Add((LogEntry.Parser.ParseFrom(result.Message.Value), result.Message.Headers ?? []));
            }
        }

        Assert.Equal(high, records.Count);
        return records;
    }
}
