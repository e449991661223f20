using Wal.Namespaces;

namespace Wal.Cli.Hosting;

/// <summary>
/// For a command told not to create topics: the topics it reads or writes must be there before it starts, else it
/// would fail later, on each write, with an error that names no topic.
/// </summary>
internal static class RequiredTopics
{
    /// <exception cref="CliException">Naming every topic of <paramref name="names"/> the cluster lacks.</exception>
    public static async Task CheckAsync(string bootstrapServers, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        // The metadata request waits for Kafka up to its own timeout and cannot be cancelled: Ctrl-C meanwhile stops
        // the start at once, as it does while the other start-up steps wait for Kafka.
        var existing = await TopicPartitionCounts.ReadAsync(bootstrapServers, names, CancellationToken.None).WaitAsync(cancellationToken);
        var missing = names.Where(name => !existing.ContainsKey(name)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            var list = string.Join(", ", missing.Select(name => $"'{name}'"));
            throw new CliException(
                ExitCodes.Failed,
                $"--no-create-topics, but {(missing.Count == 1 ? "topic" : "topics")} {list} {(missing.Count == 1 ? "does" : "do")} not exist in Kafka at {bootstrapServers}",
                "Create them first (a namespace's log, dead-letter topic and store changelogs with the namespace's partition count, "
                + "the changelogs compacted; the control-plane topic compacted, with one partition), "
                + "or start without --no-create-topics so that Wal creates them.");
        }
    }
}
