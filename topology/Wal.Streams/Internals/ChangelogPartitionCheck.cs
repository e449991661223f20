namespace Wal.Streams.Internals;

/// <summary>
/// Checks, before a sub-topology's tasks are created, that each of its stores' changelogs has as many partitions as its
/// source topics: task p keeps its state in changelog partition p, for the keys of source partition p. An input grown
/// outside Wal (<c>kafka-topics --alter</c>) left its changelogs behind, and the task of a new partition stopped the thread
/// on librdkafka's "Local: Unknown partition" at every start; an input recreated with fewer partitions ran on state
/// partitioned by the old count. Kafka Streams refuses both at start, as this does, naming the topics and their counts.
/// </summary>
/// <param name="applicationId">The application whose changelogs are checked.</param>
/// <param name="partitionCount">A topic's partition count, or null when it does not exist or cannot be learnt (then it is not checked).</param>
internal sealed class ChangelogPartitionCheck(string applicationId, Func<string, int?> partitionCount)
{
    // Per sub-topology, the source partition count it passed at: a task below it needs no new look-up, and one at or
    // above it means the source grew since.
    private readonly Dictionary<int, int> _passedAt = [];

    /// <exception cref="StreamsException">A changelog of the sub-topology has another partition count than a source topic of it.</exception>
    public void Check(Subtopology subtopology, int partition)
    {
        if (_passedAt.TryGetValue(subtopology.Id, out var passed) && partition < passed)
        {
            return;
        }

        var changelogs = subtopology.Stores.Where(s => s.LoggingEnabled).Select(s => TaskStateManager.ChangelogTopic(applicationId, s.Name)).ToList();
        if (changelogs.Count == 0)
        {
            return;
        }

        var sources = subtopology.SourceTopics.Select(t => (Topic: t, Count: partitionCount(t))).Where(s => s.Count is not null).ToList();
        if (sources.Count == 0)
        {
            return;
        }

        foreach (var changelog in changelogs)
        {
            if (partitionCount(changelog) is not { } count)
            {
                continue;
            }

            foreach (var (source, sourceCount) in sources)
            {
                if (count != sourceCount)
                {
                    throw new StreamsException(
                        $"Changelog topic '{changelog}' has {count} partitions, but source topic '{source}' has {sourceCount}: a store's changelog " +
                        "needs as many partitions as the inputs of its sub-topology, partition p holding the state of input partition p " +
                        "(was one of them altered or recreated?).");
                }
            }
        }

        _passedAt[subtopology.Id] = sources.Min(s => s.Count!.Value);
    }
}
