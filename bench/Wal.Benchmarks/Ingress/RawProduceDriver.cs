using System.Diagnostics;
using System.Text;
using Confluent.Kafka;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// The raw alternative: one Confluent.Kafka producer (acks=all, idempotent, the ingress's linger)
/// producing records of the benchmark's payload size straight to the namespace's topic, as fast as
/// it will go with at most <c>maxInFlight</c> unacknowledged.
/// </summary>
internal static class RawProduceDriver
{
    public static ThroughputSample Run(string bootstrapServers, string topic, TimeSpan linger, int payloadBytes, int maxInFlight, TimeSpan duration, TopicWatermarks watermarks)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = linger.TotalMilliseconds,
            QueueBufferingMaxMessages = maxInFlight * 2,
        }).Build();
        var value = new byte[payloadBytes];
        Random.Shared.NextBytes(value);
        // Keys shaped like the ingress's (a UUID's text), so records spread over partitions alike.
        var keys = Enumerable.Range(0, 4096).Select(_ => Encoding.UTF8.GetBytes(Guid.NewGuid().ToString())).ToArray();
        long persisted = 0;
        long failed = 0;
        using var slots = new SemaphoreSlim(maxInFlight, maxInFlight);
        void OnReport(DeliveryReport<byte[], byte[]> report)
        {
            Interlocked.Increment(ref report.Status == PersistenceStatus.Persisted && !report.Error.IsError ? ref persisted : ref failed);
            slots.Release();
        }

        var before = watermarks.Total();
        var started = Stopwatch.GetTimestamp();
        var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; Stopwatch.GetTimestamp() < until; i++)
        {
            slots.Wait();
            producer.Produce(topic, new Message<byte[], byte[]> { Key = keys[i & 4095], Value = value }, OnReport);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new ThroughputSample(Interlocked.Read(ref persisted), watermarks.Total() - before, Interlocked.Read(ref failed), elapsed);
    }
}
