namespace Wal.Namespaces;

/// <summary>
/// The topics Wal reads itself, which a Kafka target must never write to: a writer allowed into one namespace could
/// otherwise define namespaces through the control-plane topic (no admin check), forge entries in another namespace's
/// log (no allow-list check) or dead letters, or corrupt the topology's stored state through its changelogs.
/// </summary>
public static class ReservedTopics
{
    /// <summary>Why <paramref name="topic"/> is Wal's own, or null when a Kafka target may write to it.</summary>
    /// <param name="topic">The target's topic.</param>
    /// <param name="registry">The namespaces now: each one's log and dead-letter topics are reserved, in every cluster (other regions hold them too).</param>
    /// <param name="controlPlaneTopic">The control-plane topic.</param>
    /// <param name="applicationId">The topology's application id, when known: its changelog and dead-letter topics start with it.</param>
    public static string? WhyReserved(string topic, INamespaceRegistry registry, string controlPlaneTopic = ControlPlaneOptions.DefaultTopic, string? applicationId = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(registry);
        if (topic == controlPlaneTopic)
        {
            return $"'{topic}', Wal's control-plane topic";
        }

        if (IsKafkas(topic))
        {
            return $"'{topic}', one of Kafka's internal topics";
        }

        if (registry.TryGetTopicOwner(topic, out var owner))
        {
            return $"'{topic}', the {(owner.Topic == topic ? "log" : "dead-letter topic")} of namespace '{owner.Name}'";
        }

        return WhyTheTopologys(topic, applicationId);
    }

    /// <summary>Whether <paramref name="topic"/> is one of Kafka's own (consumer offsets, transaction state).</summary>
    public static bool IsKafkas(string topic) => topic.StartsWith("__", StringComparison.Ordinal);

    /// <summary>Why <paramref name="topic"/> is one of the topology's own (its state changelogs), or null.</summary>
    public static string? WhyTheTopologys(string topic, string? applicationId) =>
        applicationId is { Length: > 0 } && topic.StartsWith(applicationId + "-", StringComparison.Ordinal)
            ? $"'{topic}', a topic of the topology '{applicationId}' (its state changelogs and dead letters)"
            : null;
}
