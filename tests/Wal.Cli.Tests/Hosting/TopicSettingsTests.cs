using Wal.Kafka;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Hosting;

/// <summary>
/// What Kafka's CreateTopics is asked for, for a namespace's topics (the mock cluster has no CreateTopics and keeps
/// every record, so the request itself is what can be checked here).
/// </summary>
public sealed class TopicSettingsTests
{
    [Fact]
    public void TopicsFor_DeadLetterTopic_KeepsEveryRecordUntilDeleted()
    {
        // A dead letter is the only copy of a write answered durable TRUE that never reached its target. Made with the
        // brokers' retention (7 days by default), one not redriven within it was deleted, with nothing said until a
        // redrive found the gap.
        var ns = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "orders", Partitions = 3 });

        var deadLetters = Requested(ns)[ns.DeadLetterTopic];

        Assert.Equal("-1", deadLetters.Configs?.GetValueOrDefault("retention.ms"));
        Assert.Null(deadLetters.Configs?.GetValueOrDefault("cleanup.policy"));
    }

    [Fact]
    public void TopicsFor_LogAndChangelogs_OnlyTheChangelogsCompacted()
    {
        // Compacted, a log kept one record per key: a key's earlier writes, not yet delivered, would vanish.
        var ns = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "orders", Partitions = 3 });

        var requested = Requested(ns);

        Assert.Null(requested[ns.Topic].Configs?.GetValueOrDefault("cleanup.policy"));
        var changelogs = requested.Values.Where(t => t.Name.EndsWith("-changelog", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, changelogs.Count);
        Assert.All(changelogs, t => Assert.Equal("compact", t.Configs?.GetValueOrDefault("cleanup.policy")));
        Assert.All(requested.Values, t => Assert.Equal(3, t.NumPartitions));
    }

    private static Dictionary<string, Confluent.Kafka.Admin.TopicSpecification> Requested(NamespaceConfig ns) =>
        Cli.Hosting.Namespaces.TopicsFor([ns], "app").Select(AdminTopicProvisioner.Specification).ToDictionary(t => t.Name, StringComparer.Ordinal);
}
