using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.EndToEnd.Tests;

/// <summary>
/// A namespace created while Wal runs is consumed by the running topology, with no restart of the
/// process, and the reload that brings it in loses nothing of the namespaces already running.
/// </summary>
public sealed class NamespaceReloadTests(LocalStackFixture wal) : IClassFixture<LocalStackFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task CreateNamespace_WhileRunning_DeliveredWithoutRestartAndNothingOfTheOthersLost()
    {
        using var client = new WalClient(new WalClientOptions { Address = wal.IngressAddress });
        var topology = wal.Stack.Topology;
        var rebuildsBefore = topology.Rebuilds;
        Assert.DoesNotContain("fresh", topology.Namespaces);
        using var stopWriting = new CancellationTokenSource();
        var written = new ConcurrentQueue<string>();
        var writer = WriteDemoUntilStoppedAsync(client, written, stopWriting.Token);
        await WaitUntilAsync(() => written.Count >= 10, "the first writes to demo");

        await client.CreateNamespaceAsync(new NamespaceConfig
        {
            Name = "fresh",
            Partitions = 2,
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
        });
        var key = $"fresh-{Guid.NewGuid():N}";
        var response = await client.WriteToLogAsync(Write("fresh", key, "new namespace"));

        Assert.Equal(Trilean.True, response.Durable);
        var (value, _) = await wal.WaitForDeliveryAsync(key, Deadline);
        Assert.Equal("new namespace", System.Text.Encoding.UTF8.GetString(value));
        Assert.Contains("fresh", topology.Namespaces);
        Assert.True(topology.Rebuilds > rebuildsBefore, "delivered without the topology being rebuilt?");
        // Keep writing to demo past the reload, then check every one of its writes arrived.
        var atReload = written.Count;
        await WaitUntilAsync(() => written.Count >= atReload + 10, "writes to demo after the reload");
        await stopWriting.CancelAsync();
        await writer;
        foreach (var demoKey in written)
        {
            var (delivered, _) = await wal.WaitForDeliveryAsync(demoKey, Deadline);
            Assert.Equal(demoKey, System.Text.Encoding.UTF8.GetString(delivered));
        }

        await client.DeleteNamespaceAsync("fresh");
        await WaitUntilAsync(() => !topology.Namespaces.Contains("fresh"), "the topology to drop the deleted namespace");
    }

    private static async Task WriteDemoUntilStoppedAsync(WalClient client, ConcurrentQueue<string> written, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var key = $"reload-{i}-{Guid.NewGuid():N}";
            var response = await client.WriteToLogAsync(Write("demo", key, key), CancellationToken.None);
            Assert.True(response.Durable == Trilean.True, $"write {i} to demo: {response.Durable} {response.Message}");
            written.Enqueue(key);
            await Task.Delay(20, CancellationToken.None);
        }
    }

    private static WriteToLogRequest Write(string ns, string key, string value) => new()
    {
        Namespace = ns,
        Payload = ByteString.CopyFromUtf8(value),
        Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = key } },
    };

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var until = Stopwatch.GetTimestamp() + (long)(Deadline.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < until, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
