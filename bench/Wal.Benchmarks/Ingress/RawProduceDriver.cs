using System.Diagnostics;
using System.Text;
using Confluent.Kafka;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// The raw alternative: one Confluent.Kafka producer (acks=all, idempotent, the ingress's linger, status-only delivery reports)
/// producing records of the benchmark's payload size straight to the namespace's topic, as fast as
/// it will go with at most <c>maxInFlight</c> unacknowledged.
/// </summary>
internal static class RawProduceDriver
{
    public static ThroughputSample Run(string bootstrapServers, string topic, TimeSpan linger, int payloadBytes, int maxInFlight, TimeSpan duration, TopicWatermarks watermarks)
    {
        var config = Config(bootstrapServers, linger);
        config.QueueBufferingMaxMessages = maxInFlight * 2;
        using var producer = new ProducerBuilder<byte[], byte[]>(config).Build();
        var value = Payload(payloadBytes);
        var keys = Keys();
        Connect(producer, topic, keys, value);
        long persisted = 0;
        long produced = 0;
        using var slots = new SemaphoreSlim(maxInFlight, maxInFlight);
        void OnReport(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Status == PersistenceStatus.Persisted && !report.Error.IsError)
            {
                Interlocked.Increment(ref persisted);
            }

            slots.Release();
        }

        var before = watermarks.Total();
        var started = Stopwatch.GetTimestamp();
        var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; Stopwatch.GetTimestamp() < until; i++)
        {
            slots.Wait();
            producer.Produce(topic, new Message<byte[], byte[]> { Key = keys[i & 4095], Value = value }, OnReport);
            produced++;
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.GetElapsedTime(started);
        // Not durable: every record without a Persisted report, including those still unreported when the flush gave up.
        return new ThroughputSample(Interlocked.Read(ref persisted), watermarks.Total() - before, produced - Interlocked.Read(ref persisted), elapsed);
    }

    /// <summary>
    /// The raw producer's latency at a given rate: records produced on a steady schedule of
    /// <paramref name="perSecond"/>, each timed from its Produce call to its delivery report, in
    /// milliseconds. The same measurement the paced unary phase makes of the ingress, without the
    /// ingress: what Kafka (here the mock cluster), the producer and linger cost on their own.
    /// </summary>
    public static double[] LatenciesAt(string bootstrapServers, string topic, TimeSpan linger, int payloadBytes, int perSecond, TimeSpan duration)
    {
        using var producer = Connected(bootstrapServers, topic, linger, payloadBytes);
        var value = Payload(payloadBytes);
        var keys = Keys();
        var total = (int)(perSecond * duration.TotalSeconds);
        // NaN until a report says Persisted: a record still unreported when the flush gives up is lost, not 0 ms.
        var latencies = new double[total];
        Array.Fill(latencies, double.NaN);
        var sent = 0;
        var started = Stopwatch.GetTimestamp();
        while (sent < total)
        {
            var due = Math.Min(total, (int)(Stopwatch.GetElapsedTime(started).TotalSeconds * perSecond));
            for (; sent < due; sent++)
            {
                var index = sent;
                var produced = Stopwatch.GetTimestamp();
                producer.Produce(topic, new Message<byte[], byte[]> { Key = keys[index & 4095], Value = value }, report =>
                    latencies[index] = report.Status == PersistenceStatus.Persisted && !report.Error.IsError ? Stopwatch.GetElapsedTime(produced).TotalMilliseconds : double.NaN);
            }

            // Pacing only: the next records fall due within the millisecond.
            Thread.Sleep(1);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        return latencies;
    }

    /// <summary>
    /// A producer with the ingress's settings (status-only delivery reports too), connected and
    /// given its producer id, for a phase that produces from its own code.
    /// </summary>
    public static IProducer<byte[], byte[]> Connected(string bootstrapServers, string topic, TimeSpan linger, int payloadBytes)
    {
        var producer = new ProducerBuilder<byte[], byte[]>(Config(bootstrapServers, linger)).Build();
        Connect(producer, topic, Keys(), Payload(payloadBytes));
        return producer;
    }

    // Connections, metadata and the idempotent producer's id come first, outside the timing: the
    // ingress's producer had them long before any measured phase. Timed, they took up to a second
    // of a short stretch and charged it to the raw rate.
    private static void Connect(IProducer<byte[], byte[]> producer, string topic, byte[][] keys, byte[] value)
    {
        for (var i = 0; i < 64; i++)
        {
            producer.Produce(topic, new Message<byte[], byte[]> { Key = keys[i], Value = value });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }

    // The ingress's producer settings that matter for a fair comparison: acks=all, idempotent, its linger, and delivery
    // reports that carry only the status (the default copies each record's key and value back into managed arrays).
    private static ProducerConfig Config(string bootstrapServers, TimeSpan linger) => new()
    {
        BootstrapServers = bootstrapServers,
        Acks = Acks.All,
        EnableIdempotence = true,
        LingerMs = linger.TotalMilliseconds,
        DeliveryReportFields = "status",
    };

    private static byte[] Payload(int bytes)
    {
        var value = new byte[bytes];
        Random.Shared.NextBytes(value);
        return value;
    }

    // Keys shaped like the ingress's (a UUID's text), so records spread over partitions alike.
    private static byte[][] Keys() => [.. Enumerable.Range(0, 4096).Select(_ => Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()))];
}
