using System.Diagnostics;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>
/// Two instances given one state directory and application id would share task directories (both writing one task's stores,
/// or one deleting as stale what the other runs): the second is refused at start, in this process or another.
/// </summary>
public sealed class StateDirectoryLockTests
{
    [Fact]
    public async Task SecondInstanceOnTheSameStateDirectory_RefusedAtStart_FirstCountsOn_DirectoryFreeOnceClosed()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "shared-app", partitions: 1);
        var config = KafkaTestKit.Config(cluster, "shared-app");
        var first = new KafkaStreams(CountingProcessor.Topology("in", "out"), config);
        await first.StartAsync();

        await using (var second = new KafkaStreams(CountingProcessor.Topology("in", "out"), config))
        {
            var refused = await Assert.ThrowsAsync<StateDirectoryLockedException>(() => second.StartAsync());
            Assert.Equal(Path.Combine(config.StateDirectory, "shared-app"), refused.Directory);
            Assert.Contains($"Could not lock the state directory {refused.Directory}", refused.Message, StringComparison.Ordinal);
        }

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 2));
        var counted = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 2);
        Assert.Equal([1L, 2L], counted.Select(r => r.Message.Value));
        await first.CloseAsync();

        await using var third = new KafkaStreams(CountingProcessor.Topology("in", "out"), config);
        await third.StartAsync();
        Assert.Equal(KafkaStreamsState.Rebalancing, third.State);
    }

    [Fact]
    public async Task AnotherProcessHoldsTheLock_StartRefused_AndARunningInstanceHoldsItAgainstOtherProcesses()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "process-app", partitions: 1);
        var config = KafkaTestKit.Config(cluster, "process-app");
        var lockFile = Path.Combine(config.StateDirectory, "process-app", ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);

        // flock(1) from util-linux takes the same advisory lock another Wal process would, and holds it until stdin closes.
        using (var holder = Process.Start(new ProcessStartInfo("flock", [lockFile, "cat"]) { RedirectStandardInput = true })!)
        {
            await KafkaTestKit.WaitForAsync(() => !TryLockFromAnotherProcess(lockFile), "flock(1) to hold the lock");
            await using var refused = new KafkaStreams(CountingProcessor.Topology("in", "out"), config);
            await Assert.ThrowsAsync<StateDirectoryLockedException>(() => refused.StartAsync());
            holder.StandardInput.Close();
            await holder.WaitForExitAsync();
        }

        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), config);
        await streams.StartAsync();
        Assert.False(TryLockFromAnotherProcess(lockFile), "another process locked the directory of a running instance");
        await streams.CloseAsync();
        Assert.True(TryLockFromAnotherProcess(lockFile), "the lock outlived the close");
    }

    /// <summary>Whether another process can take the lock at once (<c>flock -n</c> exits 1 when it is held).</summary>
    private static bool TryLockFromAnotherProcess(string lockFile)
    {
        using var probe = Process.Start(new ProcessStartInfo("flock", ["-n", lockFile, "true"]))!;
        probe.WaitForExit();
        return probe.ExitCode switch
        {
            0 => true,
            1 => false,
            var code => throw new InvalidOperationException($"flock -n exited {code}"),
        };
    }
}
