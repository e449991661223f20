using System.Diagnostics;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Benchmarks;

/// <summary>Shared steps of the Kafka benchmarks: filling a topic, and waiting for a topic to hold a number of records.</summary>
internal static class BenchKafka
{
    public static void Fill(EmbeddedKafkaCluster cluster, string topic, int count, int keyBytes, int valueBytes, int? partition = null, CompressionType compression = CompressionType.None)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            Partitioner = Partitioner.Murmur2Random,
            CompressionType = compression,
        }).Build();
        var value = new byte[valueBytes];
        Random.Shared.NextBytes(value);
        for (var i = 0; i < count; i++)
        {
            var key = new byte[keyBytes];
            BitConverter.TryWriteBytes(key, i);
            var message = new Message<byte[], byte[]> { Key = key, Value = value };
            while (true)
            {
                try
                {
                    if (partition is { } p)
                    {
                        producer.Produce(new TopicPartition(topic, p), message);
                    }
                    else
                    {
                        producer.Produce(topic, message);
                    }

                    break;
                }
                catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }

        producer.Flush(TimeSpan.FromMinutes(2));
    }

    /// <summary>
    /// Fails if the mock cluster dropped the head of a partition: it keeps at most 5 MiB and 100,000 batches per partition
    /// (hard-coded in librdkafka's mock), and a benchmark over truncated data would measure nothing.
    /// </summary>
    public static long AssertRetained(EmbeddedKafkaCluster cluster, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "bench-watcher" }).Build();
        long total = 0;
        for (var p = 0; p < partitions; p++)
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            if (watermarks.Low.Value > 0)
            {
                throw new InvalidOperationException($"The mock cluster dropped {watermarks.Low.Value} records of {topic}[{p}] (it keeps 5 MiB per partition); use more partitions or smaller records.");
            }

            total += watermarks.High.Value;
        }

        return total;
    }

    /// <summary>Waits until the partitions of <paramref name="topic"/> hold <paramref name="count"/> records in all; returns when they did.</summary>
    public static long WaitForRecords(EmbeddedKafkaCluster cluster, string topic, int partitions, long count, TimeSpan deadline)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "bench-watcher" }).Build();
        var until = Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            long total = 0;
            for (var p = 0; p < partitions; p++)
            {
                total += consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(5)).High.Value;
            }

            if (total >= count)
            {
                return Stopwatch.GetTimestamp();
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"Topic '{topic}' did not reach {count} records within {deadline}.");
    }
}
