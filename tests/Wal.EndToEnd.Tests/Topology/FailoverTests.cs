using System.Collections.Concurrent;

namespace Wal.EndToEnd.Tests.Topology;

/// <summary>
/// Scale-out and failover: three <c>wal topology</c> instances share a six-partition namespace
/// under a stream of versioned writes; one dies by SIGKILL mid-run. Its partitions move to the
/// others, which restore its stores from the changelogs and redeliver from its last commit; the
/// sink's version guard makes the redelivery harmless, so every key ends at its latest version.
/// </summary>
public sealed class FailoverTests
{
    private const int Keys = 60;
    private const long BaseVersion = 1_763_000_000_000_000;
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task ThreeInstances_OneKilledWithSigkillUnderLoad_EveryKeyHoldsItsLatestAcknowledgedVersion()
    {
        await using var rig = await TopologyRig.StartAsync(partitions: 6, applicationId: "failover");
        using var a = TopologyProcess.Start(rig, rig.StateDirectory("a"), SessionTimeout);
        using var b = TopologyProcess.Start(rig, rig.StateDirectory("b"), SessionTimeout);
        using var c = TopologyProcess.Start(rig, rig.StateDirectory("c"), SessionTimeout);
        await rig.ProduceAsync("probe", 1, [1]);
        await TopologyRig.WaitForAsync(async () => await rig.VersionAsync("probe") is not null, TimeSpan.FromSeconds(40), () => $"a probe to be delivered:\n{a.Tail}");

        var acknowledged = new ConcurrentDictionary<string, long>();
        // Cancelled once the writes after the kill are in; the timeout only stops a writer a failed wait left running.
        using var writing = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var writer = WriteAsync(rig, acknowledged, writing.Token);
        // b dies holding partitions it has taken writes for: after a fixed 3 s it was, in about one run in four, still
        // joining (or had its partitions revoked by the others' joins), and its kill moved nothing.
        await TopologyRig.WaitForAsync(
            () => Task.FromResult(a.HoldsPartitions && b.HoldsPartitions && c.HoldsPartitions),
            TimeSpan.FromSeconds(40),
            () => $"each instance to hold partitions:\n{a.Tail}\n{b.Tail}\n{c.Tail}");
        await WaitForRoundsAsync(acknowledged, 10, "ten rounds of writes for b to take in");
        Assert.True(b.HoldsPartitions, $"b lost its partitions before it was killed:\n{b.Tail}");
        b.Kill();
        await WaitForRoundsAsync(acknowledged, 100, "a hundred rounds of writes while b's partitions move");
        await writing.CancelAsync();
        var writes = await writer;

        await TopologyRig.WaitForAsync(
            async () => await StaleKeysAsync(rig, acknowledged) is { Count: 0 },
            TimeSpan.FromSeconds(40),
            () => $"keys behind their latest acknowledged version after {writes} writes:\n{a.Tail}\n{c.Tail}");
        Assert.True(writes > Keys * 10, $"only {writes} writes were acknowledged; the load was too light to show anything");
        Assert.False(a.HasExited, $"instance a died:\n{a.Tail}");
        Assert.False(c.HasExited, $"instance c died:\n{c.Tail}");
    }

    /// <summary>Waits until <paramref name="rounds"/> more rounds of writes than now are acknowledged.</summary>
    private static Task WaitForRoundsAsync(ConcurrentDictionary<string, long> acknowledged, int rounds, string what)
    {
        var until = LatestRound(acknowledged) + rounds;
        return TopologyRig.WaitForAsync(() => Task.FromResult(LatestRound(acknowledged) >= until), TimeSpan.FromSeconds(40), () => what);
    }

    private static long LatestRound(ConcurrentDictionary<string, long> acknowledged) =>
        acknowledged.IsEmpty ? 0 : acknowledged.Values.Max() - BaseVersion;

    /// <summary>Rounds of one write per key, each a newer version; returns how many were acknowledged.</summary>
    private static async Task<int> WriteAsync(TopologyRig rig, ConcurrentDictionary<string, long> acknowledged, CancellationToken cancellationToken)
    {
        var writes = 0;
        for (var round = 1L; !cancellationToken.IsCancellationRequested; round++)
        {
            var version = BaseVersion + round;
            await Task.WhenAll(Enumerable.Range(0, Keys).Select(async k =>
            {
                var key = $"key-{k}";
                await rig.ProduceAsync(key, version, BitConverter.GetBytes(version));
                acknowledged[key] = version;
            }));
            writes += Keys;
            await Task.Delay(20, CancellationToken.None);
        }

        return writes;
    }

    private static async Task<List<string>> StaleKeysAsync(TopologyRig rig, ConcurrentDictionary<string, long> acknowledged)
    {
        var stale = new List<string>();
        foreach (var (key, version) in acknowledged)
        {
            if (await rig.VersionAsync(key) != version)
            {
                stale.Add(key);
            }
        }

        return stale;
    }
}
