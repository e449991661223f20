using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Wal.Kafka;

/// <summary>Creates topics through Kafka's CreateTopics API (real brokers; the mock cluster lacks it).</summary>
public sealed class AdminTopicProvisioner : ITopicProvisioner, IDisposable
{
    private readonly IAdminClient _admin;

    public AdminTopicProvisioner(string bootstrapServers, IReadOnlyDictionary<string, string>? clientConfig = null)
    {
        var config = new AdminClientConfig(clientConfig?.ToDictionary() ?? []) { BootstrapServers = bootstrapServers };
        _admin = new AdminClientBuilder(config).Build();
    }

    public async Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        if (topics.Count == 0)
        {
            return;
        }

        var specifications = topics.Select(Specification).ToList();
        try
        {
            await _admin.CreateTopicsAsync(specifications).WaitAsync(cancellationToken);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // Already there: creation is idempotent for callers.
        }
    }

    public void Dispose() => _admin.Dispose();

    /// <summary>What Kafka's CreateTopics is asked to make for <paramref name="topic"/>.</summary>
    internal static TopicSpecification Specification(TopicSpec topic) => new()
    {
        Name = topic.Name,
        NumPartitions = topic.Partitions,
        ReplicationFactor = (short)topic.ReplicationFactor,
        Configs = Configs(topic),
    };

    private static Dictionary<string, string>? Configs(TopicSpec topic)
    {
        var configs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (topic.Compacted)
        {
            configs["cleanup.policy"] = "compact";
        }

        if (!topic.Expires)
        {
            configs["retention.ms"] = "-1";
        }

        return configs.Count > 0 ? configs : null;
    }
}
