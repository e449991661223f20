using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>
/// A replicator's loop stopped by an unexpected error. The error is injected through its logger (a
/// logging provider with a bug, throwing on the replicator's own thread), the one seam a test has into
/// that loop; any other unexpected exception ends it the same way.
/// </summary>
public sealed class FailedReplicatorTests : IAsyncLifetime
{
    private const int Partitions = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly ThrowOnceLoggerFactory _loggers = new();
    private TestRegion _a = null!;
    private TestRegion _b = null!;
    private NamespaceConfig _orders = null!;

    public async Task InitializeAsync()
    {
        _a = await TestRegion.CreateAsync("a", _timeout.Token);
        _b = await TestRegion.CreateAsync("b", _timeout.Token);
        _orders = new NamespaceConfig
        {
            Name = "orders",
            Topic = "wal.orders",
            DeadLetterTopic = "wal.orders.dlq",
            Partitions = Partitions,
            Personas = { Persona.CrossRegionReplication },
            Regions =
            {
                new Region { Name = "a", BootstrapServers = _a.Kafka.BootstrapServers },
                new Region { Name = "b", BootstrapServers = _b.Kafka.BootstrapServers },
            },
        };
        _a.Kafka.CreateTopic(_orders.Topic, Partitions);
        _b.Kafka.CreateTopic(_orders.Topic, Partitions);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task LoopFailed_HostStartsANewReplicatorInItsPlace()
    {
        // b refuses the first produce for good (MESSAGE_TOO_LARGE); the replicator logs that on its
        // own thread, and the logging throws there and ends the loop. No dead-letter topic, so the
        // record is re-sent rather than dead-lettered, and all ten reach b through the replacement.
        _loggers.Arm();
        _b.Kafka.PushRequestErrors(KafkaApi.Produce, 10);
        await using var host = new ReplicationHost(
            new NamespaceRegistry([_orders]),
            namespaces => [.. CrossRegionReplication.Plan(namespaces, "a", _a.Kafka.BootstrapServers)
                .Select(o => o with { CommitInterval = TimeSpan.FromMilliseconds(200), SessionTimeout = TimeSpan.FromSeconds(6), DeadLetterTopic = null })],
            loggers: _loggers,
            debounce: TimeSpan.FromMilliseconds(200));
        await host.StartAsync(_timeout.Token);
        var first = host.Replicators.Single();
        await _a.WriteAsync(_orders.Topic, Entries("w", 10), _timeout.Token);

        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.ReadAll(_b.Kafka.BootstrapServers, _orders.Topic, Partitions).Count >= 10),
            Patience, "a's writes to reach b through a new replicator");
        Assert.True(first.HasFailed);
        var replacement = host.Replicators.Single();
        Assert.NotSame(first, replacement);
        Assert.False(replacement.HasFailed);
        Assert.Equal(1, _loggers.Thrown);
        // The failed loop's exception was logged when it happened; stopping the host does not throw it again.
        await host.CloseAsync(_timeout.Token);
        Assert.Empty(host.Replicators);
    }

    private static List<LogEntry> Entries(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new LogEntry
        {
            Id = $"{prefix}-{i}",
            Namespace = "orders",
            Payload = Google.Protobuf.ByteString.CopyFromUtf8($"v{i}"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = TestRegion.Cluster, Key = $"{prefix}-k{i % 4}" } },
            AcceptedAtMs = 1_790_000_000_000 + i,
        })];

    /// <summary>Once armed, the first failed produce a replicator logs throws (once in all).</summary>
    private sealed class ThrowOnceLoggerFactory : ILoggerFactory
    {
        private int _armed;
        private int _thrown;

        public int Thrown => Volatile.Read(ref _thrown);

        public void Arm() => Volatile.Write(ref _armed, 1);

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger(ThrowOnceLoggerFactory owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var message = formatter(state, exception);
                var produceFailed = message.Contains("produce of offset", StringComparison.Ordinal) || message.Contains("rewound", StringComparison.Ordinal);
                if (produceFailed && Volatile.Read(ref owner._armed) == 1 && Interlocked.CompareExchange(ref owner._thrown, 1, 0) == 0)
                {
                    throw new InvalidOperationException("A logging provider failed.");
                }
            }
        }
    }
}
