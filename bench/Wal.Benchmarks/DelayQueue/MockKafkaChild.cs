using Wal.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Benchmarks.DelayQueue;

/// <summary>
/// The mock cluster in a child process (<c>Wal.Benchmarks mock-kafka [--brokers=N] topic:partitions[:compact][:rf=N] …</c>),
/// so its memory and CPU are not counted in the benchmark process's. Prints the bootstrap servers,
/// then lives until its standard input closes.
/// </summary>
internal static class MockKafkaChild
{
    public const string Command = "mock-kafka";
    private const string BrokersOption = "--brokers=";

    public static async Task<int> RunAsync(string[] args)
    {
        var brokers = args.Where(a => a.StartsWith(BrokersOption, StringComparison.Ordinal)).Select(a => Number(a[BrokersOption.Length..])).LastOrDefault(1);
        using var cluster = EmbeddedKafkaCluster.Start(brokers);
        await cluster.EnsureAsync(args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).Select(Spec).ToList());
        Console.WriteLine(cluster.BootstrapServers);
        await Console.In.ReadToEndAsync();
        return 0;
    }

    private static TopicSpec Spec(string text)
    {
        var parts = text.Split(':');
        var replicationFactor = parts.Skip(2).Where(p => p.StartsWith("rf=", StringComparison.Ordinal)).Select(p => Number(p[3..])).LastOrDefault(1);
        return new TopicSpec(parts[0], Number(parts[1]), Compacted: parts.Skip(2).Contains("compact"), ReplicationFactor: replicationFactor);
    }

    private static int Number(string text) => int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
}
