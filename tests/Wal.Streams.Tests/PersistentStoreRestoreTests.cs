using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>
/// A persistent store's trust rules against a real changelog: with a checkpoint its local data is kept and only the changelog's
/// tail is restored; without one it is wiped and rebuilt from the changelog. Local data is tampered with to tell the two apart.
/// Wiping is a warning only when local data is discarded; a first start, with nothing on disk, is information.
/// </summary>
public sealed class PersistentStoreRestoreTests
{
    [Fact]
    public async Task Restart_WithCheckpoint_KeepsLocalData_WithoutCheckpoint_WipesAndRestores()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "persist-app", partitions: 1);
        var config = KafkaTestKit.Config(cluster, "persist-app");
        var taskDirectory = Path.Combine(config.StateDirectory, "persist-app", "0_0");
        var dataFile = Path.Combine(taskDirectory, "rocksdb", CountingProcessor.StoreName, "data.bin");
        var checkpoint = Path.Combine(taskDirectory, ".checkpoint");
        var outputs = 0;

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 3));
        var firstStart = new RecordingLoggerFactory();
        await RunUntilOutputsAsync(outputs += 3, firstStart);
        Assert.DoesNotContain(firstStart.Lines, l => l.Level >= LogLevel.Warning);
        Assert.Contains(firstStart.Lines, l => l.Level == LogLevel.Information && l.Message.Contains("no local state yet", StringComparison.Ordinal));
        Assert.True(File.Exists(checkpoint), "A clean close writes the checkpoint.");
        Assert.Contains("persist-app-counts-changelog 0 3", await File.ReadAllTextAsync(checkpoint), StringComparison.Ordinal);

        SetLocalCount(dataFile, 100);
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 1));
        Assert.Equal(101, (await RunUntilOutputsAsync(outputs += 1)).Message.Value);

        SetLocalCount(dataFile, 500);
        File.Delete(checkpoint);
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 1));
        var wipingStart = new RecordingLoggerFactory();
        Assert.Equal(102, (await RunUntilOutputsAsync(outputs += 1, wipingStart)).Message.Value);
        Assert.Contains(wipingStart.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("wiping it", StringComparison.Ordinal));

        async Task<ConsumeResult<string, long>> RunUntilOutputsAsync(int count, ILoggerFactory? loggers = null)
        {
            await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out", FileBackedKeyValueStore.Builder(CountingProcessor.StoreName)), config, loggers);
            await streams.StartAsync();
            var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= count);
            await streams.CloseAsync();
            Assert.Equal(count, output.Count);
            return output[^1];
        }
    }

    /// <summary>
    /// A checkpoint beyond the changelog's end (the topic was recreated or truncated) makes the task wipe its store and
    /// restore from the beginning. That stale checkpoint must not outlive the wipe: if the instance stops without a commit
    /// before its first new checkpoint, and the changelog meanwhile grows past the stale offset (another instance took the
    /// task over), the next start must not trust it and skip the records before it.
    /// </summary>
    [Fact]
    public async Task CheckpointBeyondChangelogEnd_WipedThenStoppedDirty_StaleCheckpointNotTrustedLater()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "stale-app", partitions: 1);
        var config = KafkaTestKit.Config(cluster, "stale-app");
        var other = config with { StateDirectory = config.StateDirectory + "-other" };
        var checkpoint = Path.Combine(config.StateDirectory, "stale-app", "0_0", ".checkpoint");
        var store = Stores.PersistentKeyValueStore(CountingProcessor.StoreName);

        // 1. Three keys counted once; a clean close checkpoints changelog offset 3.
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 3, perKey: 1));
        await using (var first = new KafkaStreams(CountingProcessor.Topology("in", "out", store), config))
        {
            await first.StartAsync();
            await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 3);
            await first.CloseAsync();
        }

        Assert.Contains("stale-app-counts-changelog 0 3", await File.ReadAllTextAsync(checkpoint), StringComparison.Ordinal);

        // 2. The checkpoint now lies beyond the changelog's end (3), as after a recreated topic: the task wipes and restores
        //    from 0. The instance then stops without committing (a crash) before its first periodic commit.
        await File.WriteAllTextAsync(checkpoint, "0\n1\nstale-app-counts-changelog 0 10\n");
        var wiping = new RecordingLoggerFactory();
        await using (var restarted = new KafkaStreams(CountingProcessor.Topology("in", "out", store), config with { CommitInterval = TimeSpan.FromMinutes(5) }, wiping))
        {
            await restarted.StartAsync();
            await KafkaTestKit.WaitForAsync(() => restarted.State == KafkaStreamsState.Running, "the restarted instance to restore and run");
            await restarted.AbandonAsync();
        }

        Assert.Contains(wiping.Lines, l => l.Message.Contains("outside the changelog", StringComparison.Ordinal));
        Assert.DoesNotContain("stale-app-counts-changelog 0 10", await File.ReadAllTextAsync(checkpoint), StringComparison.Ordinal);

        // 3. Another instance owns the task meanwhile and counts 20 new keys: the changelog grows to offset 23.
        await KafkaTestKit.ProduceAsync(cluster, "in", Enumerable.Range(0, 20).Select(i => ($"x{i}", "v")));
        await using (var elsewhere = new KafkaStreams(CountingProcessor.Topology("in", "out", store), other))
        {
            await elsewhere.StartAsync();
            await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 23);
            await elsewhere.CloseAsync();
        }

        // 4. Back on the first state directory: each of the 20 keys, counted once, must count 2 now.
        await KafkaTestKit.ProduceAsync(cluster, "in", Enumerable.Range(0, 20).Select(i => ($"x{i}", "v")));
        await using var last = new KafkaStreams(CountingProcessor.Topology("in", "out", store), config);
        await last.StartAsync();
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 43);
        await last.CloseAsync();

        Assert.Equal(43, output.Count);
        Assert.Equal(
            string.Join(" ", Enumerable.Range(0, 20).Select(i => $"x{i}=2")),
            string.Join(" ", output.Skip(23).OrderBy(r => int.Parse(r.Message.Key[1..], System.Globalization.CultureInfo.InvariantCulture)).Select(r => $"{r.Message.Key}={r.Message.Value}")));
    }

    /// <summary>
    /// A store whose files are damaged while its checkpoint survives is rebuilt from the changelog's
    /// beginning: resuming at the checkpoint would leave out everything before it, for good.
    /// </summary>
    [Theory]
    [InlineData(StoreDamage.FilesDeleted)]
    [InlineData(StoreDamage.CurrentFileCorrupt)]
    public async Task Restart_StoreFilesDamagedCheckpointKept_RebuildsFromTheChangelog(StoreDamage damage)
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var app = $"damaged-{damage}".ToLowerInvariant();
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        var config = KafkaTestKit.Config(cluster, app);
        var taskDirectory = Path.Combine(config.StateDirectory, app, "0_0");
        var storeDirectory = Path.Combine(taskDirectory, "rocksdb", CountingProcessor.StoreName);
        var store = Stores.PersistentKeyValueStore(CountingProcessor.StoreName);

        // 1. One key counted three times; a clean close checkpoints changelog offset 3.
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 3));
        await RunUntilOutputsAsync(3);
        Assert.Contains($"{app}-counts-changelog 0 3", await File.ReadAllTextAsync(Path.Combine(taskDirectory, ".checkpoint")), StringComparison.Ordinal);

        // 2. The store's files are damaged; the checkpoint is not.
        Damage(storeDirectory, damage);

        // 3. One more record: the count goes on from the three the changelog holds.
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 1));
        Assert.Equal(4, (await RunUntilOutputsAsync(4)).Message.Value);

        async Task<ConsumeResult<string, long>> RunUntilOutputsAsync(int count)
        {
            await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out", store), config);
            await streams.StartAsync();
            var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= count);
            await streams.CloseAsync();
            Assert.Equal(count, output.Count);
            return output[^1];
        }
    }

    public enum StoreDamage
    {
        FilesDeleted,
        CurrentFileCorrupt,
    }

    private static void Damage(string storeDirectory, StoreDamage damage)
    {
        switch (damage)
        {
            case StoreDamage.FilesDeleted:
                Directory.Delete(storeDirectory, recursive: true);
                break;
            case StoreDamage.CurrentFileCorrupt:
                File.WriteAllText(Path.Combine(storeDirectory, "CURRENT"), "garbage-without-newline");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, null);
        }
    }

    private static void SetLocalCount(string dataFile, long count)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, count);
        FileBackedKeyValueStore.Save(dataFile, [(Encoding.UTF8.GetBytes("k0"), value)]);
    }
}
