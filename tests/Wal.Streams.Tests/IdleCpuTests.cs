using System.Globalization;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IdleCpuCollection
{
    public const string Name = "idle CPU: no other test's threads running beside it";
}

/// <summary>
/// A running topology with nothing to do costs next to nothing. Each stream thread kept an admin client on a client
/// handle for its partition-count reads, and Confluent.Kafka 1.9.3's admin client on a handle polls in a loop without
/// waiting: one thread at 100 % of a core for as long as the topology ran.
/// </summary>
[Collection(IdleCpuCollection.Name)]
public sealed class IdleCpuTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task RunningTopologyWithNoInput_NoThreadOfTheProcessKeepsACoreBusy()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "idle-app", partitions: 2);
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "idle-app"));
        await streams.StartAsync();
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 2, perKey: 1));
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 2);

        var before = ThreadCpu();
        await Task.Delay(Window);
        var after = ThreadCpu();

        // A thread that never waits gets most of a core (92 % here on the old code; two thirds of one with the other test
        // projects on the two cores); idle ones (the stream thread waking for its punctuations and polls, librdkafka's
        // threads for their timers, the JIT's background compiles) use a few percent.
        var busy = after
            .Where(t => before.ContainsKey(t.Key))
            .Select(t => (Thread: t.Value.Name, Share: (t.Value.Ticks - before[t.Key].Ticks) / (double)TicksPerSecond / Window.TotalSeconds))
            .Where(t => t.Share > 0.5)
            .ToList();
        Assert.True(busy.Count == 0, $"threads busy while the topology had nothing to do: {string.Join(", ", busy.Select(t => $"{t.Thread} {t.Share:P0}"))}");
        await streams.CloseAsync();
    }

    // USER_HZ: what /proc reports CPU times in; 100 on Linux whatever the kernel's own tick rate.
    private const int TicksPerSecond = 100;

    /// <summary>Each thread of this process: its name and the CPU time it has used (user and system), from /proc.</summary>
    private static Dictionary<int, (string Name, long Ticks)> ThreadCpu()
    {
        var threads = new Dictionary<int, (string, long)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            // "tid (name) state ppid …": the name may hold spaces and parentheses, so fields are counted after the last ')'.
            var nameEnd = stat.LastIndexOf(')');
            var name = stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..nameEnd];
            var fields = stat[(nameEnd + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            threads[int.Parse(Path.GetFileName(directory), CultureInfo.InvariantCulture)] = (name, ticks);
        }

        return threads;
    }
}
