using System.Text;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;

namespace Wal.Sinks.Tests;

/// <summary>
/// What the <see cref="MemcachedSink"/> tests against the real memcached share: sinks on the
/// fixture's server (every named cluster on it), targets with unique keys, ever-increasing versions,
/// and reading back what a sink stored through a plain client.
/// </summary>
public sealed class MemcachedSinkKit(MemcachedServerFixture server, string keyPrefix, params string[] clusters) : IAsyncDisposable
{
    private static long _versions = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private readonly List<MemcachedSink> _sinks = [];

    /// <summary>A plain client on the same server, for reading items (and their CAS) as stored.</summary>
    public MemcachedClient Reader { get; } = new(new MemcachedClientOptions { Servers = [server.Server] });

    /// <summary>
    /// A new sink, disposed with the kit: a second one plays another writer, knowing nothing of the first's cache.
    /// <paramref name="address"/> names the server another way (a host name) or another server.
    /// </summary>
    public MemcachedSink NewSink(string? address = null, TimeSpan? operationTimeout = null)
    {
        var sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = clusters.ToDictionary(name => name, _ => new MemcachedClusterOptions { Servers = [address ?? server.Server] }),
            // Generous: the machine running the tests may be busy, and a timeout reads as retriable.
            OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(10),
        });
        _sinks.Add(sink);
        return sink;
    }

    /// <summary>A target with a key no other test uses, on <paramref name="cluster"/> (the first cluster by default).</summary>
    public Target NewTarget(string? cluster = null) => TargetOf(Guid.NewGuid().ToString("N"), cluster);

    /// <summary>The target of <paramref name="key"/> under this kit's prefix.</summary>
    public Target TargetOf(string key, string? cluster = null) => new()
    {
        Memcached = new MemcachedTarget { Cluster = cluster ?? clusters[0], Key = keyPrefix + key, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) },
    };

    public static Target AsDelete(Target target)
    {
        var delete = target.Clone();
        delete.Memcached.Delete = true;
        return delete;
    }

    public static Delivery Deliver(Target target, string payload, long version) =>
        new(Guid.NewGuid().ToString("N"), target, Encoding.UTF8.GetBytes(payload), version);

    public static long NextVersion() => Interlocked.Add(ref _versions, 10);

    /// <summary>The payload stored for <paramref name="target"/>: null when absent or deleted; fails on an item without the version header.</summary>
    public async Task<byte[]?> ReadPayloadAsync(Target target)
    {
        var item = await Reader.GetAsync(target.Memcached.Key);
        if (item is null)
        {
            return null;
        }

        Assert.True(VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload), "The sink wrote an item without its version header.");
        return tombstone ? null : payload.ToArray();
    }

    public async Task<string?> ReadAsync(Target target) => await ReadPayloadAsync(target) is { } payload ? Encoding.UTF8.GetString(payload) : null;

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks)
        {
            await sink.DisposeAsync();
        }

        await Reader.DisposeAsync();
    }
}
