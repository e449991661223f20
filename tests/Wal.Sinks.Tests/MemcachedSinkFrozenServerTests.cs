using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;

namespace Wal.Sinks.Tests;

/// <summary>
/// A frozen memcached (SIGSTOP: the process keeps its sockets open and answers nothing, as a paused VM or a
/// swapping host does). The sink must give up on it once it has answered nothing for <c>UnresponsiveAfter</c>
/// (2 s), whatever the budget of the call, and write again once it wakes.
/// </summary>
public sealed class MemcachedSinkFrozenServerTests
{
    [Fact]
    public async Task DeliverInOrderAsync_ServerFrozen_RetriableOnceTakenForHungNotAfterEveryWritesBudget()
    {
        await using var memcached = await MemcachedProcess.StartAsync(threads: 1);
        var pid = await memcached.StatAsync("pid");
        await using var sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions> { ["c"] = new() { Servers = [memcached.Endpoint], ConnectionsPerServer = 1 } },
            OperationTimeout = TimeSpan.FromSeconds(1),
        });
        Assert.True((await sink.DeliverAsync(Deliver("warm", 1))).Succeeded);
        // A 40-chunk mutation: one pipelined request of 40 adds, whose budget is 40 x OperationTimeout.
        var chunks = Enumerable.Range(0, 40).Select(i => Deliver($"chunk-{i}", 100)).ToArray();

        Signal("STOP", pid);
        IReadOnlyList<DeliveryResult> frozen;
        TimeSpan took;
        try
        {
            var clock = Stopwatch.StartNew();
            frozen = await sink.DeliverInOrderAsync(chunks);
            took = clock.Elapsed;
        }
        finally
        {
            Signal("CONT", pid);
        }

        Assert.Equal(DeliveryOutcome.RetriableFailure, Assert.Single(frozen).Outcome);
        // UnresponsiveAfter (2 s) and room for a busy machine; before, the call waited out its whole 40 s budget,
        // holding the stream thread (and every partition on it) that long at each attempt.
        Assert.True(took < TimeSpan.FromSeconds(10), $"a frozen server held the mutation's writes for {took.TotalSeconds:0.#} s");
        IReadOnlyList<DeliveryResult> awake = [];
        await Eventually.WaitUntilAsync(
            async () => (awake = await sink.DeliverInOrderAsync(chunks)).Count == chunks.Length && awake.All(r => r.Succeeded),
            TimeSpan.FromSeconds(20),
            () => $"every chunk delivered once the server woke; last: {string.Join(", ", awake.Select(r => $"{r.Outcome} ({r.Error})"))}",
            TimeSpan.FromMilliseconds(200));
    }

    private static Delivery Deliver(string key, long version) => new(
        Guid.NewGuid().ToString("N"),
        new Target { Memcached = new MemcachedTarget { Cluster = "c", Key = key, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) } },
        "v"u8.ToArray(),
        version);

    private static void Signal(string signal, long pid)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
