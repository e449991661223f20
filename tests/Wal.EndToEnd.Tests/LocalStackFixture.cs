using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Cli.Local;
using Wal.Sinks.Memcached;

namespace Wal.EndToEnd.Tests;

/// <summary>One <c>wal up</c> stack (free ports) shared by the end-to-end tests.</summary>
public sealed class LocalStackFixture : IAsyncLifetime
{
    // Between reads of memcached while waiting for a key.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    private LocalStack? _stack;
    private MemcachedClient? _memcached;

    internal LocalStack Stack => _stack ?? throw new InvalidOperationException("not started");

    public Uri IngressAddress => Stack.IngressAddress;

    public async Task InitializeAsync()
    {
        _stack = await LocalStack.StartAsync(
            new LocalStackOptions
            {
                NamespacesFile = Path.Combine(AppContext.BaseDirectory, "config", "namespaces.json"),
                IngressPort = 0,
                AdminPort = 0,
                MemcachedPort = 0,
                StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-e2e-{Guid.NewGuid():N}"),
            },
            NullLoggerFactory.Instance);
        _memcached = new MemcachedClient(new MemcachedClientOptions { Servers = [_stack.Memcached.Endpoint] });
    }

    public async Task DisposeAsync()
    {
        if (_memcached is not null)
        {
            await _memcached.DisposeAsync();
        }

        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    /// <summary>The payload Wal delivered to <paramref name="key"/>, or null if none (yet).</summary>
    public async Task<byte[]?> ReadDeliveredAsync(string key)
    {
        var item = await _memcached!.GetAsync(key);
        return item is not null && VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload) && !tombstone
            ? payload.ToArray()
            : null;
    }

    /// <summary>Polls memcached until <paramref name="key"/> holds a delivered value, or fails at the deadline.</summary>
    public async Task<(byte[] Value, DateTimeOffset SeenAt)> WaitForDeliveryAsync(string key, TimeSpan deadline)
    {
        byte[]? value = null;
        await Eventually.WaitUntilAsync(async () => (value = await ReadDeliveredAsync(key)) is not null, deadline, $"'{key}' to reach memcached", Poll);
        return (value!, DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Polls memcached until <paramref name="key"/> holds no delivered value (missing or a
    /// tombstone), or fails at the deadline. Order holds per key only: the memcached sink pipelines
    /// writes of distinct keys, and a compare-and-set that loses falls back to read-compare-write
    /// after the writes sent with it, so a later key of a mutation can show before an earlier delete lands.
    /// </summary>
    public async Task WaitForAbsenceAsync(string key, TimeSpan deadline)
    {
        byte[]? value = null;
        await Eventually.WaitUntilAsync(
            async () => (value = await ReadDeliveredAsync(key)) is null,
            deadline,
            () => $"'{key}' to hold no value; it still holds '{System.Text.Encoding.UTF8.GetString(value ?? [])}'",
            Poll);
    }

    /// <summary>Records in a topic, summed over partitions (high watermarks).</summary>
    public long RecordCount(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = Stack.Kafka.BootstrapServers, GroupId = "e2e-inspector" }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Stack.Kafka.BootstrapServers }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
        return partitions.Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value);
    }
}
