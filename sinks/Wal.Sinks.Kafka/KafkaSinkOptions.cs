namespace Wal.Sinks.Kafka;

/// <summary>Settings of <see cref="KafkaSink"/>, validated when the sink is built.</summary>
public sealed record KafkaSinkOptions
{
    /// <summary>Bootstrap servers of the local cluster, used by targets that name no cluster.</summary>
    public string? LocalBootstrapServers { get; init; }

    /// <summary>Logical cluster name (the target's <c>cluster</c>) to its bootstrap servers.</summary>
    public IReadOnlyDictionary<string, string> Clusters { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// How long the producer keeps trying one record (<c>message.timeout.ms</c>); past it the
    /// delivery is reported retriable. Keep it at most the topology's <c>DeliveryTimeout</c> (5 s), which gives up on
    /// the attempt anyway: a record librdkafka still held after that landed later, once per attempt, even after the
    /// topology had dead-lettered it.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Why a topic may not be written to (Wal's own topics, see <c>ReservedTopics</c>), or null when it may; asked for
    /// every delivery, so it follows namespaces as they change. A refused topic fails permanently.
    /// </summary>
    public Func<string, string?>? ReservedTopic { get; init; }

    /// <summary>Further librdkafka producer settings; they cannot turn off acks=all or idempotence.</summary>
    public IReadOnlyDictionary<string, string> ProducerConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(LocalBootstrapServers) && (Clusters is null || Clusters.Count == 0))
        {
            throw new ArgumentException("KafkaSinkOptions names no cluster: set LocalBootstrapServers or Clusters.");
        }

        foreach (var (name, servers) in Clusters ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrWhiteSpace(name) || string.IsNullOrWhiteSpace(servers))
            {
                throw new ArgumentException($"KafkaSinkOptions.Clusters['{name}'] = '{servers}': both the name and the bootstrap servers are required.");
            }
        }

        if (DeliveryTimeout < TimeSpan.FromMilliseconds(1))
        {
            // message.timeout.ms is whole milliseconds, and 0 means "never give up": records would land at any later time.
            throw new ArgumentException($"KafkaSinkOptions.DeliveryTimeout is {DeliveryTimeout}; it must be at least 1 ms.");
        }

        foreach (var key in new[] { "acks", "enable.idempotence" })
        {
            if (ProducerConfig?.ContainsKey(key) == true)
            {
                throw new ArgumentException($"KafkaSinkOptions.ProducerConfig sets '{key}'; the sink always produces with acks=all and idempotence on.");
            }
        }
    }

    internal string? BootstrapServersFor(string cluster) =>
        string.IsNullOrEmpty(cluster) ? LocalBootstrapServers : Clusters.GetValueOrDefault(cluster);
}
