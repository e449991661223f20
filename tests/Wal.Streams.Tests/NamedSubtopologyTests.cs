using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>
/// Sub-topologies named with <see cref="TopologyBuilder.NameSubtopology"/> keep their task ids, and so their state
/// directories, when the topology gains a sub-topology before them; numbered ones are renumbered and start on empty stores.
/// An application that rebuilds its topology as its inputs come and go (one sub-topology per tenant) names them.
/// </summary>
public sealed class NamedSubtopologyTests
{
    [Theory]
    [InlineData(true, 101)]
    [InlineData(false, 4)]
    public async Task SubtopologyAddedBeforeAnother_TheOtherKeepsItsLocalStateOnlyWhenNamed(bool named, long expected)
    {
        var app = named ? "named-app" : "numbered-app";
        using var cluster = ClusterFor(app, "a", "b");
        var config = KafkaTestKit.Config(cluster, app);
        await KafkaTestKit.ProduceAsync(cluster, "in-b", KafkaStreamsTests.Records(keys: 1, perKey: 3));
        await RunUntilAsync(Topology(named, "b"), outputs: 3);
        var firstDirectory = named ? "b_0" : "0_0";
        var dataFile = Path.Combine(config.StateDirectory, app, firstDirectory, "rocksdb", "b-counts", "data.bin");
        Assert.True(File.Exists(dataFile), $"b's store is in {firstDirectory}");

        // Local state the changelog does not have: counting on from it shows the store was kept, not restored (3 + 1).
        var tampered = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(tampered, 100);
        FileBackedKeyValueStore.Save(dataFile, [(Encoding.UTF8.GetBytes("k0"), tampered)]);
        await KafkaTestKit.ProduceAsync(cluster, "in-b", KafkaStreamsTests.Records(keys: 1, perKey: 1));
        var second = new RecordingLoggerFactory();
        var output = await RunUntilAsync(Topology(named, "a", "b"), outputs: 4, second);

        Assert.Equal(expected, output[^1].Message.Value);
        var restoredFromTheStart = second.Lines.Any(l => l.Message.Contains("b-counts has no local state yet", StringComparison.Ordinal));
        Assert.Equal(!named, restoredFromTheStart);

        async Task<List<ConsumeResult<string, long>>> RunUntilAsync(Topology topology, int outputs, ILoggerFactory? loggers = null)
        {
            await using var streams = new KafkaStreams(topology, config, loggers);
            await streams.StartAsync();
            var read = await KafkaTestKit.ReadUntilAsync(cluster, "out-b", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= outputs);
            await streams.CloseAsync();
            Assert.Equal(outputs, read.Count);
            return read;
        }
    }

    [Fact]
    public async Task Start_DirectoriesOfSubtopologiesTheTopologyLacks_RemovedOnceUnwrittenFor10MinutesOthersKept()
    {
        using var cluster = ClusterFor("stale-app", "b");
        var config = KafkaTestKit.Config(cluster, "stale-app");
        var application = Path.Combine(config.StateDirectory, "stale-app");
        var gone = UnwrittenFor11Minutes(Path.Combine(application, "gone_0"));
        var numbered = UnwrittenFor11Minutes(Path.Combine(application, "0_1"));
        var notATask = UnwrittenFor11Minutes(Path.Combine(application, "notes"));
        var ownKept = UnwrittenFor11Minutes(Path.Combine(application, "b_3"));
        // Another process on this state directory may still run it (a rolling upgrade, an instance not yet rebuilt).
        var recentlyWritten = UnwrittenFor11Minutes(Path.Combine(application, "other_0"));
        await File.WriteAllTextAsync(Path.Combine(Path.GetDirectoryName(StoreFile(recentlyWritten))!, "LOG"), "written a moment ago");
        var loggers = new RecordingLoggerFactory();

        await using var streams = new KafkaStreams(Topology(named: true, "b"), config, loggers);
        await streams.StartAsync();

        Assert.False(Directory.Exists(gone), "a sub-topology the topology no longer has");
        Assert.False(Directory.Exists(numbered), "a numbered one, from before the sub-topologies were named");
        Assert.True(Directory.Exists(recentlyWritten), "one with a file written within the last 10 minutes");
        Assert.True(Directory.Exists(notATask), "not a task's directory");
        Assert.True(Directory.Exists(ownKept), "a task of this topology's sub-topology (another instance's partition, say)");
        Assert.Contains(loggers.Lines, l => l.Message.Contains("Removing the state directory of task gone_0", StringComparison.Ordinal));
        await streams.CloseAsync();
    }

    [Fact]
    public async Task Start_StaleDirectoryThatCannotBeDeleted_LoggedAndKept_TheTopologyRuns()
    {
        using var cluster = ClusterFor("stuck-app", "b");
        var config = KafkaTestKit.Config(cluster, "stuck-app");
        var held = StoreFile(UnwrittenFor11Minutes(Path.Combine(config.StateDirectory, "stuck-app", "gone_0")));

        var loggers = new RecordingLoggerFactory();
        await using var streams = new KafkaStreams(Topology(named: true, "b"), config, loggers);
        // Root deletes whatever the file modes say: the kernel refuses this one file's unlink instead.
        using (SystemCallTrace.Failing(held, "EACCES", "unlink", "unlinkat"))
        {
            await streams.StartAsync();
        }

        Assert.True(File.Exists(held), "the file that could not be deleted");
        Assert.Contains(loggers.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("Could not remove the state directory of task gone_0", StringComparison.Ordinal));
        await KafkaTestKit.ProduceAsync(cluster, "in-b", KafkaStreamsTests.Records(keys: 1, perKey: 1));
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out-b", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 1);
        Assert.Single(output);
        await streams.CloseAsync();
    }

    /// <summary>A one-broker cluster with the input, output and counts changelog of each named sub-topology.</summary>
    private static EmbeddedKafkaCluster ClusterFor(string applicationId, params string[] names)
    {
        var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        foreach (var name in names)
        {
            foreach (var topic in new[] { $"in-{name}", $"out-{name}", $"{applicationId}-{name}-counts-changelog" })
            {
                cluster.CreateTopic(topic, 1);
            }
        }

        return cluster;
    }

    /// <summary>Makes <paramref name="directory"/> a task directory with a store file in it, all last written 11 minutes ago.</summary>
    private static string UnwrittenFor11Minutes(string directory)
    {
        var file = StoreFile(directory);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "MANIFEST-000001");
        var then = DateTime.UtcNow.AddMinutes(-11);
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Append(new DirectoryInfo(directory)))
        {
            entry.LastWriteTimeUtc = then;
        }

        return directory;
    }

    /// <summary>The store file <see cref="UnwrittenFor11Minutes"/> puts in a task directory.</summary>
    private static string StoreFile(string taskDirectory) =>
        Path.Combine(taskDirectory, "rocksdb", $"{Path.GetFileName(taskDirectory)}-store", "CURRENT");

    private static Topology Topology(bool named, params string[] names)
    {
        var builder = new TopologyBuilder();
        foreach (var name in names)
        {
            builder
                .AddSource($"{name}-source", Deserializers.Utf8, Deserializers.Utf8, $"in-{name}")
                .AddProcessor($"{name}-count", () => new CountingProcessor(storeName: $"{name}-counts"), $"{name}-source")
                .AddStateStore(FileBackedKeyValueStore.Builder($"{name}-counts"), $"{name}-count")
                .AddSink($"{name}-sink", $"out-{name}", Serializers.Utf8, Serializers.Int64, $"{name}-count");
            if (named)
            {
                builder.NameSubtopology($"{name}-source", name);
            }
        }

        return builder.Build();
    }
}
