namespace Wal.Topology.Replication;

/// <summary>What one <see cref="RegionReplicator"/> copies, from where, to where.</summary>
public sealed record RegionReplicatorOptions
{
    /// <summary>The namespace being replicated.</summary>
    public required string Namespace { get; init; }

    /// <summary>The namespace's topic; the same name in every region.</summary>
    public required string Topic { get; init; }

    /// <summary>This region: only records that originated here are replicated.</summary>
    public required string LocalRegion { get; init; }

    /// <summary>
    /// Every region the namespace lists, this one included. A record whose origin is none of them (an ingress run with a
    /// misspelt region, or a record written around the ingress) is not replicated, as one from another region is not;
    /// knowing the list lets the replicator say so rather than skip it in silence. Empty: not known, nothing said.
    /// </summary>
    public RegionNames Regions { get; init; } = RegionNames.None;

    /// <summary>
    /// The namespace's dead-letter topic in this region. A record the remote refuses for good (too large for it, or a
    /// record or timestamp it calls invalid) goes there, and its partition moves on; `wal dlq redrive` sends it again
    /// once the remote is fixed. Null: such a record is re-sent until the remote takes it, and its partition waits.
    /// </summary>
    public string? DeadLetterTopic { get; init; }

    /// <summary>Bootstrap servers of this region's Kafka cluster (read side).</summary>
    public required string LocalBootstrapServers { get; init; }

    /// <summary>The region receiving the records.</summary>
    public required string RemoteRegion { get; init; }

    /// <summary>Bootstrap servers of the receiving region's Kafka cluster (write side).</summary>
    public required string RemoteBootstrapServers { get; init; }

    /// <summary>Records produced but not yet acknowledged by the remote before reading pauses.</summary>
    public int MaxInFlight { get; init; } = 10_000;

    /// <summary>
    /// Bytes produced but not yet acknowledged by the remote before reading pauses. Large records reach librdkafka's own
    /// queue limit (1 GiB) long before <see cref="MaxInFlight"/> records, and a full queue refused the next record.
    /// </summary>
    public long MaxInFlightBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>How often acknowledged progress is committed to the local cluster.</summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait before re-sending from the last acknowledged record after a failed produce.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Consumer group session timeout on the local cluster.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The consumer group holding this replicator's progress: one per (namespace, remote region).</summary>
    public string GroupId => GroupIdOf(Namespace, RemoteRegion);

    /// <summary>The consumer group of the replicator of <paramref name="namespace"/> to <paramref name="remoteRegion"/>.</summary>
    public static string GroupIdOf(string @namespace, string remoteRegion) => $"wal-replicate-{@namespace}-to-{remoteRegion}";

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new[]
        {
            (nameof(Namespace), Namespace), (nameof(Topic), Topic), (nameof(LocalRegion), LocalRegion),
            (nameof(LocalBootstrapServers), LocalBootstrapServers), (nameof(RemoteRegion), RemoteRegion),
            (nameof(RemoteBootstrapServers), RemoteBootstrapServers),
        })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"RegionReplicatorOptions.{name} must not be empty.", name);
            }
        }

        if (LocalRegion == RemoteRegion)
        {
            throw new ArgumentException($"RegionReplicatorOptions: namespace '{Namespace}' would replicate region '{LocalRegion}' to itself.", nameof(RemoteRegion));
        }

        if (MaxInFlightBytes < RecordLimits.ProducerMaxMessageBytes || MaxInFlightBytes > 512L * 1024 * 1024)
        {
            throw new ArgumentException(
                $"RegionReplicatorOptions.MaxInFlightBytes {MaxInFlightBytes} must be between one record ({RecordLimits.ProducerMaxMessageBytes}) and 512 MiB (librdkafka queues at most 1 GiB).",
                nameof(MaxInFlightBytes));
        }

        if (MaxInFlight < 1)
        {
            throw new ArgumentException($"RegionReplicatorOptions.MaxInFlight {MaxInFlight} must be at least 1.", nameof(MaxInFlight));
        }

        foreach (var (name, value) in new[] { (nameof(CommitInterval), CommitInterval), (nameof(RetryBackoff), RetryBackoff), (nameof(SessionTimeout), SessionTimeout) })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentException($"RegionReplicatorOptions.{name} {value} must be positive.", name);
            }
        }
    }
}
