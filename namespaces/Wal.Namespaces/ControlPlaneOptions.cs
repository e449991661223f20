using Wal.Kafka;

namespace Wal.Namespaces;

/// <summary>Where namespace definitions live: a compacted topic, keyed by namespace name.</summary>
public sealed record ControlPlaneOptions
{
    public required string BootstrapServers { get; init; }

    /// <summary>The control-plane topic every instance reads its definitions from unless told otherwise.</summary>
    public const string DefaultTopic = "wal.namespaces";

    public string Topic { get; init; } = DefaultTopic;

    /// <summary>Longest wait for the topic to be read to its end at start, or for a change to be applied.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    public TopicSpec TopicSpec => new(Topic, Partitions: 1, Compacted: true);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("BootstrapServers must name at least one broker.", nameof(BootstrapServers));
        }

        if (string.IsNullOrWhiteSpace(Topic))
        {
            throw new ArgumentException("Topic must not be empty.", nameof(Topic));
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Timeout {Timeout} must be positive.", nameof(Timeout));
        }
    }
}
