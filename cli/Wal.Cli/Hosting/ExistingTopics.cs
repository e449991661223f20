using Wal.Kafka;

namespace Wal.Cli.Hosting;

/// <summary>
/// Creates nothing: for clusters where the topics are made by someone else (an operator's
/// tooling, or a test that owns a mock cluster whose admin API cannot create them).
/// </summary>
internal sealed class ExistingTopics : ITopicProvisioner
{
    public Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
