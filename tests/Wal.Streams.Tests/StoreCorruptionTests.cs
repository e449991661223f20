using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// A RocksDB store whose table file is damaged where the store's open does not look (a data block), so the damage is met
/// only by a read once the task runs: the task closes without committing, the store is wiped and restored from its
/// changelog, and the thread goes on, as Kafka Streams handles a corrupted task.
/// </summary>
public sealed class StoreCorruptionTests
{
    private const int Keys = 5_000;

    [Fact]
    public async Task ProcessAsync_ReadMeetsADamagedBlockAfterOpen_TaskRestoredFromChangelogAndThreadKeepsRunning()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "corrupt-read-app";
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        var config = KafkaTestKit.Config(cluster, app);
        var topology = CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName));

        // 1 and 2. Every key counted once, then bytes in the middle of the store's table file flipped.
        var damaged = await CountedThenDamagedAsync(cluster, topology, config, app);

        // 3. The first record after the restart reads a damaged key.
        var victim = damaged[0];
        await KafkaTestKit.ProduceAsync(cluster, "in", [(victim, "v1")]);
        var loggers = new RecordingLoggerFactory();
        await using var streams = new KafkaStreams(topology, config, loggers);
        await streams.StartAsync();
        var output = await ReadOutputsAsync(Keys + 1);
        Assert.Null(streams.FatalError);
        Assert.Equal((victim, 2L), (output[^1].Message.Key, output[^1].Message.Value));
        Assert.Contains(loggers.Lines, l => l.Level >= LogLevel.Warning
            && l.Message.Contains($"store {CountingProcessor.StoreName} of task 0_0 is corrupt", StringComparison.Ordinal));

        // 4. Every key once more, on the same thread: each counts on from what the changelog gave back.
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: Keys, perKey: 1, startAt: 1));
        output = await ReadOutputsAsync((2 * Keys) + 1);
        Assert.Null(streams.FatalError);
        Assert.Equal(KafkaStreamsState.Running, streams.State);
        var counts = output.GroupBy(r => r.Message.Key).ToDictionary(g => g.Key, g => g.Last().Message.Value);
        Assert.Equal(Keys, counts.Count);
        Assert.All(counts, c => Assert.Equal(c.Key == victim ? 3 : 2, c.Value));

        Task<List<ConsumeResult<string, long>>> ReadOutputsAsync(int count) =>
            KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= count || streams.FatalError is not null);
    }

    /// <summary>
    /// The damaged block met by a punctuator's scan of the store, not by a record: the task is revived the same way, and
    /// its next punctuation reads the store as the changelog gave it back.
    /// </summary>
    [Fact]
    public async Task Punctuation_ScanMeetsADamagedBlockAfterOpen_TaskRestoredFromChangelogAndThreadKeepsRunning()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "corrupt-scan-app";
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        var config = KafkaTestKit.Config(cluster, app);
        var store = Stores.PersistentKeyValueStore(CountingProcessor.StoreName);
        await CountedThenDamagedAsync(cluster, CountingProcessor.Topology("in", "out", store), config, app);

        var loggers = new RecordingLoggerFactory();
        var punctuating = CountingProcessor.Topology("in", "out", store, totalEvery: TimeSpan.FromMilliseconds(200));
        await using var streams = new KafkaStreams(punctuating, config, loggers);
        await streams.StartAsync();
        var output = await KafkaTestKit.ReadUntilAsync(
            cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Any(o => o.Message.Key == CountingProcessor.TotalKey) || streams.FatalError is not null);

        Assert.Null(streams.FatalError);
        Assert.Equal(Keys, output.First(o => o.Message.Key == CountingProcessor.TotalKey).Message.Value);
        Assert.Contains(loggers.Lines, l => l.Level >= LogLevel.Warning
            && l.Message.Contains($"store {CountingProcessor.StoreName} of task 0_0 is corrupt", StringComparison.Ordinal));
        Assert.Equal(KafkaStreamsState.Running, streams.State);
    }

    /// <summary>
    /// Under exactly-once the thread's one transaction holds every task's output since the last commit: the corrupt store
    /// fails the thread, which aborts it, instead of reviving the task beside that open transaction.
    /// </summary>
    [Fact]
    public async Task ProcessAsync_ExactlyOnceAndAReadMeetsADamagedBlock_ThreadFailsWithoutRevivingTheTask()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "corrupt-read-eos-app";
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        var config = KafkaTestKit.Config(cluster, app) with { ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce };
        var topology = CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName));

        // The clean close writes the checkpoint, the only one exactly-once writes, so the restart trusts the store.
        var damaged = await CountedThenDamagedAsync(cluster, topology, config, app);
        await KafkaTestKit.ProduceAsync(cluster, "in", [(damaged[0], "v1")]);
        var loggers = new RecordingLoggerFactory();
        await using var streams = new KafkaStreams(topology, config, loggers);
        await streams.StartAsync();

        await Eventually.WaitUntilAsync(() => streams.FatalError is not null, TimeSpan.FromSeconds(60), "the stream thread to fail");
        var corrupted = Assert.Single(Chain(streams.FatalError).OfType<TaskCorruptedException>());
        Assert.Equal(CountingProcessor.StoreName, corrupted.StoreName);
        Assert.DoesNotContain(loggers.Lines, l => l.Message.Contains("the task closes without committing", StringComparison.Ordinal));

        static IEnumerable<Exception> Chain(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
            {
                yield return e;
            }
        }
    }

    /// <summary>
    /// Counts every key once and closes cleanly (no periodic commit, so the close writes the whole store to one table file
    /// and the checkpoint), then damages a data block of that file: the store still opens, and reading some keys fails.
    /// </summary>
    /// <returns>The keys whose reads now fail; never none.</returns>
    private static async Task<List<string>> CountedThenDamagedAsync(EmbeddedKafkaCluster cluster, Topology topology, StreamsConfig config, string app)
    {
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: Keys, perKey: 1));
        await using (var first = new KafkaStreams(topology, config with { CommitInterval = TimeSpan.FromMinutes(5) }))
        {
            await first.StartAsync();
            await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= Keys);
            await first.CloseAsync();
        }

        var damaged = DamageADataBlock(Path.Combine(config.StateDirectory, app, "0_0", "rocksdb", CountingProcessor.StoreName));
        Assert.NotEmpty(damaged);
        return damaged;
    }

    /// <summary>Flips bytes a third of the way into the store's largest table file; returns the keys whose reads now fail.</summary>
    private static List<string> DamageADataBlock(string storeDirectory)
    {
        var table = Directory.GetFiles(storeDirectory, "*.sst").MaxBy(f => new FileInfo(f).Length)
            ?? throw new InvalidOperationException($"No table file in {storeDirectory}.");
        TableFileDamage.FlipBytes(table, 1.0 / 3);

        // Probed by a store of its own, closed before the runtime opens the directory; its block cache goes with it.
        using var probe = new RocksDbKeyValueStore("probe", storeDirectory);
        return Enumerable.Range(0, Keys).Select(k => $"k{k}").Where(key => ReadFails(probe, key)).ToList();
    }

    private static bool ReadFails(RocksDbKeyValueStore store, string key)
    {
        try
        {
            store.Get(Encoding.UTF8.GetBytes(key));
            return false;
        }
        catch (Exception e) when (e.Message.Contains("Corruption", StringComparison.Ordinal))
        {
            return true;
        }
    }
}
