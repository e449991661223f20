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
        using var cluster = CountingCluster("shared-app");
        var config = KafkaTestKit.Config(cluster, "shared-app");
        await using var first = Counting(config);
        await first.StartAsync();

        await using (var second = Counting(config))
        {
            var refused = await Assert.ThrowsAsync<StateDirectoryLockedException>(() => second.StartAsync());
            Assert.Equal(Path.GetFullPath(Path.Combine(config.StateDirectory, "shared-app")), refused.Directory);
            Assert.Contains($"Another instance of this application runs with the state directory {refused.Directory}", refused.Message, StringComparison.Ordinal);
        }

        // The refused instance, closed, took nothing of the first's lock with it.
        await using (var fourth = Counting(config))
        {
            await Assert.ThrowsAsync<StateDirectoryLockedException>(() => fourth.StartAsync());
        }

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 2));
        var counted = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 2);
        Assert.Equal([1L, 2L], counted.Select(r => r.Message.Value));
        await first.CloseAsync();

        // Starts: the first's close released the directory.
        await using var third = Counting(config);
        await third.StartAsync();
    }

    [Fact]
    public async Task AnotherProcessHoldsTheLock_StartRefused_AndARunningInstanceHoldsItAgainstOtherProcesses()
    {
        using var cluster = CountingCluster("process-app");
        var config = KafkaTestKit.Config(cluster, "process-app");
        var lockFile = Path.Combine(config.StateDirectory, "process-app", ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);

        // flock(1) from util-linux takes the same advisory lock another Wal process would, and holds it until stdin closes.
        using (var holder = Process.Start(new ProcessStartInfo("flock", [lockFile, "cat"]) { RedirectStandardInput = true })!)
        {
            await KafkaTestKit.WaitForAsync(() => !TryLockFromAnotherProcess(lockFile), "flock(1) to hold the lock");
            await using var refused = Counting(config);
            await Assert.ThrowsAsync<StateDirectoryLockedException>(() => refused.StartAsync());
            holder.StandardInput.Close();
            await holder.WaitForExitAsync();
        }

        await using var streams = Counting(config);
        await streams.StartAsync();
        Assert.False(TryLockFromAnotherProcess(lockFile), "another process locked the directory of a running instance");
        await streams.CloseAsync();
        Assert.True(TryLockFromAnotherProcess(lockFile), "the lock outlived the close");
    }

    [Fact]
    public async Task LockFileThatCannotBeOpened_RefusedNamingTheFile_NotBlamedOnAnotherInstance()
    {
        using var cluster = CountingCluster("unopenable-app");
        var config = KafkaTestKit.Config(cluster, "unopenable-app");
        // A directory where the lock file goes: no open, let alone a lock, can succeed.
        var lockFile = Directory.CreateDirectory(Path.Combine(config.StateDirectory, "unopenable-app", ".lock")).FullName;

        await using var streams = Counting(config);
        var refused = await Assert.ThrowsAsync<StreamsException>(() => streams.StartAsync());

        Assert.StartsWith($"Could not open the state directory's lock file {lockFile}: ", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartFailingAfterTheLockWasTaken_ReleasesIt_EvenIfTheInstanceIsNeverClosed()
    {
        using var cluster = CountingCluster("failed-start-app");
        var config = KafkaTestKit.Config(cluster, "failed-start-app");

        // The stream threads' producers refuse the property, after the directory was locked.
        var failing = new KafkaStreams(CountingProcessor.Topology("in", "out"), config with
        {
            NumStreamThreads = 2,
            AdditionalProducerConfig = new Dictionary<string, string> { ["no.such.property"] = "1" },
        });
        var refused = await Record.ExceptionAsync(() => failing.StartAsync());
        Assert.NotNull(refused);
        Assert.IsNotType<StateDirectoryLockedException>(refused);

        // Not closed, as a caller that drops a failed instance would leave it.
        await using var next = Counting(config);
        await next.StartAsync();
    }

    [Fact]
    public async Task CloseWhoseWaitIsCancelled_ReleasesTheLockWhenTheThreadsEnd_AndALaterCloseWaitsForThat()
    {
        using var cluster = CountingCluster("cancelled-close-app");
        var config = KafkaTestKit.Config(cluster, "cancelled-close-app");
        await using var first = Counting(config);
        await first.StartAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.CloseAsync(new CancellationToken(canceled: true)));
        await first.CloseAsync().WaitAsync(KafkaTestKit.Deadline);

        Assert.Equal(KafkaStreamsState.NotRunning, first.State);
        await using var next = Counting(config);
        await next.StartAsync();
    }

    /// <summary>A one-broker cluster with the counting topology's topics for <paramref name="applicationId"/>.</summary>
    private static EmbeddedKafkaCluster CountingCluster(string applicationId)
    {
        var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, applicationId, partitions: 1);
        return cluster;
    }

    private static KafkaStreams Counting(StreamsConfig config) => new(CountingProcessor.Topology("in", "out"), config);

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
