using System.Diagnostics;
using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams;

namespace Wal.Benchmarks;

/// <summary>
/// (a) A pass-through topology (source → sink, at-least-once) against a hand-written Confluent.Kafka consume → produce loop
/// with the same producer settings and commit interval, on the same mock cluster. Each side is timed from the moment it
/// has its partitions (group join excluded) until the output topic holds every record.
/// </summary>
internal sealed class PassThroughBenchmark : IRatioBenchmark
{
    private const int Records = 200_000;
    // librdkafka's mock cluster keeps at most 5 MiB per partition: 8 partitions hold 200,000 records of ~130 bytes.
    private const int Partitions = 8;
    private static readonly TimeSpan CommitInterval = TimeSpan.FromSeconds(1);

    public string Name => "streams-passthrough";

    public string Description => "pass-through topology vs raw consume->produce loop, same mock cluster; target ratio >= 0.8";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        foreach (var topic in new[] { "bench-in", "raw-out-1", "raw-out-2", "streams-out-1", "streams-out-2" })
        {
            cluster.CreateTopic(topic, Partitions);
        }

        BenchKafka.Fill(cluster, "bench-in", Records, keyBytes: 16, valueBytes: 100);
        BenchKafka.AssertRetained(cluster, "bench-in", Partitions);
        Console.Error.WriteLine($"{Name}: input filled");
        var raw = new List<double>();
        var streams = new List<double>();
        for (var round = 1; round <= 2; round++)
        {
            raw.Add(await Task.Run(() => RunRaw(cluster, $"raw-out-{round}", $"raw-{round}", cancellationToken), cancellationToken));
            Console.Error.WriteLine($"{Name}: raw round {round}: {raw[^1]:N0} records/s");
            streams.Add(await RunStreamsAsync(cluster, $"streams-out-{round}", $"streams-{round}", cancellationToken));
            Console.Error.WriteLine($"{Name}: topology round {round}: {streams[^1]:N0} records/s");
        }

        var rawRate = raw.Max();
        var streamsRate = streams.Max();
        var ratio = streamsRate / rawRate;
        return new BenchmarkReport(Name,
        [
            ("records per run", Records, "records"),
            ("raw consume->produce loop (best of 2)", rawRate, "records/s"),
            ("pass-through topology (best of 2)", streamsRate, "records/s"),
            ("ratio topology / raw", ratio, "x"),
        ], "ratio >= 0.8", ratio >= 0.8);
    }

    private static double RunRaw(EmbeddedKafkaCluster cluster, string output, string group, CancellationToken cancellationToken)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            // The stream producer's linger (StreamThread.ProducerLingerMs, Kafka Streams' default since ae4a039).
            LingerMs = 100,
            Partitioner = Partitioner.Murmur2Random,
        }).Build();
        long started = 0;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
        }).SetPartitionsAssignedHandler((_, _) => started = Stopwatch.GetTimestamp()).Build();
        consumer.Subscribe("bench-in");
        var offsets = new Dictionary<TopicPartition, TopicPartitionOffset>();
        var lastCommit = Stopwatch.GetTimestamp();
        var processed = 0;
        while (processed < Records && !cancellationToken.IsCancellationRequested)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (record is not null)
            {
                var message = new Message<byte[], byte[]> { Key = record.Message.Key, Value = record.Message.Value, Timestamp = record.Message.Timestamp };
                // A fair raw loop waits out a full local queue, as the runtime's record collector does.
                while (true)
                {
                    try
                    {
                        producer.Produce(output, message);
                        break;
                    }
                    catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10));
                    }
                }

                offsets[record.TopicPartition] = new TopicPartitionOffset(record.TopicPartition, record.Offset + 1);
                processed++;
            }

            if (Stopwatch.GetElapsedTime(lastCommit) >= CommitInterval)
            {
                producer.Flush(cancellationToken);
                consumer.Commit(offsets.Values);
                lastCommit = Stopwatch.GetTimestamp();
            }
        }

        producer.Flush(cancellationToken);
        consumer.Commit(offsets.Values);
        var finished = BenchKafka.WaitForRecords(cluster, output, Partitions, Records, TimeSpan.FromMinutes(2));
        consumer.Close();
        return Records / Stopwatch.GetElapsedTime(started, finished).TotalSeconds;
    }

    private static async Task<double> RunStreamsAsync(EmbeddedKafkaCluster cluster, string output, string applicationId, CancellationToken cancellationToken)
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.ByteArray, Deserializers.ByteArray, "bench-in")
            .AddSink("sink", output, Serializers.ByteArray, Serializers.ByteArray, "source")
            .Build();
        var config = new StreamsConfig
        {
            ApplicationId = applicationId,
            BootstrapServers = cluster.BootstrapServers,
            StateDirectory = Path.Combine(Path.GetTempPath(), "wal-bench", Guid.NewGuid().ToString("N")),
            CommitInterval = CommitInterval,
        };
        long started = 0;
        await using var streams = new KafkaStreams(topology, config);
        streams.StateChanged += (_, e) =>
        {
            if (e.NewState == KafkaStreamsState.Running && started == 0)
            {
                started = Stopwatch.GetTimestamp();
            }
        };
        await streams.StartAsync(cancellationToken);
        var finished = await Task.Run(() => BenchKafka.WaitForRecords(cluster, output, Partitions, Records, TimeSpan.FromMinutes(2)), cancellationToken);
        await streams.CloseAsync(cancellationToken);
        return Records / Stopwatch.GetElapsedTime(started, finished).TotalSeconds;
    }
}
