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

    private static void SetLocalCount(string dataFile, long count)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, count);
        FileBackedKeyValueStore.Save(dataFile, [(Encoding.UTF8.GetBytes("k0"), value)]);
    }
}
