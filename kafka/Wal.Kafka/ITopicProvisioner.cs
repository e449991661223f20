namespace Wal.Kafka;

/// <summary>Creates the topics Wal needs before anything produces to them.</summary>
/// <remarks>
/// Wal never relies on broker-side auto-creation: an auto-created topic gets the broker's default
/// partition count, and a namespace's partition count decides its ordering and parallelism.
/// </remarks>
public interface ITopicProvisioner
{
    /// <summary>Creates each topic that does not exist yet; existing topics are left as they are.</summary>
    Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default);
}
