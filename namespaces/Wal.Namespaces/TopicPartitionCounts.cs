using Confluent.Kafka;

namespace Wal.Namespaces;

/// <summary>
/// How many partitions a namespace's topics have in Kafka: what a definition's <c>partitions</c> must agree with, since
/// existing topics are never re-created.
/// </summary>
public static class TopicPartitionCounts
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Reads the count of each of <paramref name="topics"/> that exists, off the caller's thread (librdkafka's metadata
    /// read blocks, up to 10 s when no broker answers).
    /// </summary>
    /// <returns>Each named topic that exists, with its partition count; one left out does not exist.</returns>
    /// <exception cref="KafkaException">
    /// Kafka did not answer, or answered for a named topic with an error (no leader, being created), whose message
    /// names the topic: its count is unknown, and taking it as absent let a topic with another count pass unchecked.
    /// </exception>
    public static Task<IReadOnlyDictionary<string, int>> ReadAsync(
        string bootstrapServers, IReadOnlyCollection<string> topics, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(bootstrapServers);
        ArgumentNullException.ThrowIfNull(topics);
        return Task.Run<IReadOnlyDictionary<string, int>>(() => Read(bootstrapServers, topics), cancellationToken);
    }

    // The whole cluster's metadata, not the named topics': asking for a missing topic by name creates it on a broker
    // that auto-creates topics (the mock cluster does, whatever the client's allow.auto.create.topics), with the
    // broker's default count, which the check would then refuse.
    private static Dictionary<string, int> Read(string bootstrapServers, IReadOnlyCollection<string> topics)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var wanted = topics.ToHashSet(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var topic in admin.GetMetadata(Timeout).Topics.Where(t => wanted.Contains(t.Topic)))
        {
            if (topic.Error.Code == ErrorCode.UnknownTopicOrPart)
            {
                continue;
            }

            if (topic.Error.IsError || topic.Partitions.Count == 0)
            {
                var reason = topic.Error.IsError ? topic.Error.Reason : "no partitions listed";
                throw new KafkaException(new Error(topic.Error.IsError ? topic.Error.Code : ErrorCode.LeaderNotAvailable,
                    $"topic '{topic.Topic}' could not be read: {reason}"));
            }

            counts[topic.Topic] = topic.Partitions.Count;
        }

        return counts;
    }
}
