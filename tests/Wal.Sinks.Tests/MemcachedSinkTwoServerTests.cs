using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;

namespace Wal.Sinks.Tests;

/// <summary>
/// A cluster of two memcached servers, keys spread over them by hash, one of them down: a batch of in-order writes
/// must settle as writing them one at a time would, the keys of the server that is up written and answered.
/// </summary>
public sealed class MemcachedSinkTwoServerTests
{
    [Fact]
    public async Task DeliverInOrderAsync_OneServerDown_WritesBeforeItsFirstKeyDeliveredAndThatKeyRetriable()
    {
        await using var up = await MemcachedProcess.StartAsync(threads: 1);
        var down = await MemcachedProcess.StartAsync(threads: 1);
        var (upKeys, downKey) = await KeysByServerAsync(up.Endpoint, down.Endpoint);
        await using var sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions> { ["c"] = new() { Servers = [up.Endpoint, down.Endpoint] } },
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        await down.DisposeAsync();

        var results = await sink.DeliverInOrderAsync([Deliver(upKeys[0]), Deliver(upKeys[1]), Deliver(downKey)]);

        // One at a time, the first two are written (their server is up) and the third fails; before, the batch failed
        // at its first write with the other server's error, and a mutation's apply took stored chunks for refused.
        Assert.True(results.Count == 3, string.Join(", ", results.Select(r => $"{r.Outcome} ({r.Error})")));
        Assert.Equal(DeliveryOutcome.Delivered, results[0].Outcome);
        Assert.Equal(DeliveryOutcome.Delivered, results[1].Outcome);
        Assert.Equal(DeliveryOutcome.RetriableFailure, results[2].Outcome);
        Assert.Contains(down.Endpoint, results[2].Error, StringComparison.Ordinal);
    }

    private static Delivery Deliver(string key) => new(
        Guid.NewGuid().ToString("N"),
        new Target { Memcached = new MemcachedTarget { Cluster = "c", Key = key, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) } },
        "v"u8.ToArray(),
        100);

    /// <summary>Two new keys that hash to <paramref name="first"/> and one that hashes to <paramref name="second"/>, found by writing and removing probes.</summary>
    private static async Task<(string[] First, string Second)> KeysByServerAsync(string first, string second)
    {
        await using var both = new MemcachedClient(new MemcachedClientOptions { Servers = [first, second] });
        await using var onFirst = new MemcachedClient(new MemcachedClientOptions { Servers = [first] });
        var onFirstKeys = new List<string>();
        string? onSecondKey = null;
        while (onFirstKeys.Count < 2 || onSecondKey is null)
        {
            var key = "two-servers:" + Guid.NewGuid().ToString("N");
            await both.SetAsync(key, "probe"u8.ToArray());
            var isOnFirst = await onFirst.GetAsync(key) is not null;
            await both.DeleteAsync(key);
            if (isOnFirst && onFirstKeys.Count < 2)
            {
                onFirstKeys.Add(key);
            }
            else if (!isOnFirst)
            {
                onSecondKey ??= key;
            }
        }

        return ([.. onFirstKeys], onSecondKey);
    }
}
