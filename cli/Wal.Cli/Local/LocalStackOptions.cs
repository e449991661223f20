namespace Wal.Cli.Local;

/// <summary>What <c>wal up</c> starts, and where.</summary>
internal sealed record LocalStackOptions
{
    public required string NamespacesFile { get; init; }

    public int Brokers { get; init; } = 3;

    /// <summary>gRPC port of the ingress; 0 picks a free one.</summary>
    public int IngressPort { get; init; } = 50051;

    /// <summary>HTTP port for /metrics and health; 0 picks a free one, -1 turns it off.</summary>
    public int AdminPort { get; init; } = 50052;

    /// <summary>HTTP port for the topology's /metrics and health; 0 picks a free one, -1 (unless given) turns it off.</summary>
    public int TopologyAdminPort { get; init; } = -1;

    /// <summary>Port of the memcached this run starts; 0 picks a free one.</summary>
    public int MemcachedPort { get; init; } = 11311;

    public string Region { get; init; } = "local";

    public string ApplicationId { get; init; } = "wal-topology";

    /// <summary>How often the topology commits; null keeps the engine's default (30 s, as Kafka Streams).</summary>
    public TimeSpan? CommitInterval { get; init; }

    /// <summary>Where RocksDB stores live; a fresh directory each run, since the embedded Kafka starts empty.</summary>
    public string StateDirectory { get; init; } = Path.Combine(Path.GetTempPath(), $"wal-up-{Environment.ProcessId}");
}
