using Wal.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Benchmarks.DelayQueue;

/// <summary>
/// The mock cluster in a child process (<c>Wal.Benchmarks mock-kafka topic:partitions[:compact] …</c>),
/// so its memory is not counted in the benchmark process's RSS. Prints the bootstrap servers,
/// then lives until its standard input closes.
/// </summary>
internal static class MockKafkaChild
{
    public const string Command = "mock-kafka";

    public static async Task<int> RunAsync(string[] topics)
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        await cluster.EnsureAsync(topics.Select(Spec).ToList());
        Console.WriteLine(cluster.BootstrapServers);
        await Console.In.ReadToEndAsync();
        return 0;
    }

    private static TopicSpec Spec(string text)
    {
        var parts = text.Split(':');
        return new TopicSpec(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), Compacted: parts.Length > 2);
    }
}
