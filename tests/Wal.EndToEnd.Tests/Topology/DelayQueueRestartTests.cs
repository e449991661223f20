using System.Collections.Concurrent;

namespace Wal.EndToEnd.Tests.Topology;

/// <summary>
/// Delayed entries wait in the timer store while the topology instance holding them stops
/// (SIGTERM) or dies (SIGKILL); a new instance with an empty state directory restores the store
/// from its changelog and fires every timer, none before its due time.
/// </summary>
public sealed class DelayQueueRestartTests
{
    private const int Timers = 150;
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(6);

    [Fact]
    public Task Timers_InstanceStoppedGracefullyAndReplaced_EveryTimerFiresNoneEarly() => RunAsync(kill: false);

    [Fact]
    public Task Timers_InstanceKilledWithSigkillAndReplaced_EveryTimerFiresNoneEarly() => RunAsync(kill: true);

    private static async Task RunAsync(bool kill)
    {
        await using var rig = await TopologyRig.StartAsync(partitions: 3, applicationId: kill ? "delay-sigkill" : "delay-sigterm");
        using var first = TopologyProcess.Start(rig, rig.StateDirectory("first"), SessionTimeout);
        await rig.ProduceAsync("probe", 1, [1]);
        await TopologyRig.WaitForAsync(async () => await rig.VersionAsync("probe") is not null, TimeSpan.FromSeconds(40), () => $"the first instance to deliver a probe:\n{first.Tail}");

        var due = new Dictionary<string, long>();
        for (var i = 0; i < Timers; i++)
        {
            var key = $"timer-{i}";
            var delay = TimeSpan.FromMilliseconds(1_000 + (i * 3_000 / Timers));
            due[key] = await rig.ProduceAsync(key, 1, [2], delay) + (long)delay.TotalMilliseconds;
        }

        var seen = new ConcurrentDictionary<string, long>();
        using var watching = new CancellationTokenSource();
        var watcher = WatchAsync(rig, due.Keys, seen, watching.Token);

        // Stop while most timers are still pending: the first ones are due 1 s after they were written.
        await TopologyRig.WaitForAsync(() => Task.FromResult(!seen.IsEmpty), TimeSpan.FromSeconds(10), () => "the first timers to fire");
        if (kill)
        {
            first.Kill();
        }
        else
        {
            await first.StopAsync();
        }

        var firedBeforeStop = seen.Count;
        using var second = TopologyProcess.Start(rig, rig.StateDirectory("second"), SessionTimeout);
        await TopologyRig.WaitForAsync(
            () => Task.FromResult(seen.Count == Timers),
            TimeSpan.FromSeconds(60),
            () => $"{Timers - seen.Count} timer(s) never fired, e.g. {string.Join(", ", due.Keys.Where(k => !seen.ContainsKey(k)).Take(5))}:\n{second.Tail}");
        await watching.CancelAsync();
        await watcher;

        Assert.True(firedBeforeStop < Timers, "every timer fired before the stop, so the restart proved nothing");
        var early = due.Where(d => seen[d.Key] < d.Value).Select(d => $"{d.Key} seen {d.Value - seen[d.Key]} ms early").ToList();
        Assert.Empty(early);
    }

    /// <summary>Records when each key is first seen in memcached (at or after its delivery).</summary>
    private static async Task WatchAsync(TopologyRig rig, IEnumerable<string> keys, ConcurrentDictionary<string, long> seen, CancellationToken cancellationToken)
    {
        var pending = keys.ToList();
        while (!cancellationToken.IsCancellationRequested && pending.Count > 0)
        {
            foreach (var key in pending.ToList())
            {
                if (await rig.VersionAsync(key) is not null)
                {
                    seen[key] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    pending.Remove(key);
                }
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }
}
