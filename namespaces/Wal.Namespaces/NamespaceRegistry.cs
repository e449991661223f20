using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>
/// An in-memory registry whose contents are swapped whole: readers on the hot path see one
/// consistent snapshot without taking a lock.
/// </summary>
public sealed class NamespaceRegistry : INamespaceRegistry
{
    private Snapshot _current = Snapshot.Empty;

    public NamespaceRegistry()
    {
    }

    public NamespaceRegistry(IEnumerable<NamespaceConfig> namespaces) => Replace(namespaces);

    public event EventHandler? Changed;

    public IReadOnlyList<NamespaceConfig> All => Volatile.Read(ref _current).All;

    public bool TryGet(string name, [NotNullWhen(true)] out NamespaceConfig? config) =>
        Volatile.Read(ref _current).ByName.TryGetValue(name, out config);

    public bool TryGetTopicOwner(string topic, [NotNullWhen(true)] out NamespaceConfig? owner) =>
        Volatile.Read(ref _current).ByTopic.TryGetValue(topic, out owner);

    /// <summary>Validates every definition, applies defaults, and swaps them in all at once.</summary>
    /// <exception cref="NamespaceConfigException">A definition is invalid; nothing was changed.</exception>
    public void Replace(IEnumerable<NamespaceConfig> namespaces) => Swap(Resolve(namespaces));

    // Refused here, a count the topic holds depended on whether the record before it was still there: every instance
    // reading the whole topic kept the old count, one starting after compaction dropped that record took the new one.
    /// <summary>
    /// Adds or replaces one definition. A changed partition count is taken: it is what the control-plane topic holds
    /// (only <see cref="CheckUpsert"/>, before a change is written, refuses one).
    /// </summary>
    /// <exception cref="NamespaceConfigException">It is invalid, or clashes with another namespace; nothing was changed.</exception>
    public void Upsert(NamespaceConfig definition) => Swap(Resolve(WithUpserted(definition)));

    /// <summary>
    /// What <see cref="Upsert"/> would hold for <paramref name="definition"/>, without changing anything; as a change
    /// to be written, one that changes the namespace's partition count is refused, unless to the count its log has.
    /// </summary>
    /// <param name="definition">The definition to check.</param>
    /// <param name="logPartitions">
    /// How many partitions the definition's log topic has in Kafka, when the caller read it (null: unknown, or no such
    /// topic): the one count a namespace's partitions may change to, when its log stays on that topic.
    /// </param>
    /// <exception cref="NamespaceConfigException">It is invalid, clashes with another namespace, or changes a partition count.</exception>
    public NamespaceConfig CheckUpsert(NamespaceConfig definition, int? logPartitions = null)
    {
        var resolved = Resolve(WithUpserted(definition))[definition.Name];
        RefusePartitionChange(resolved, logPartitions);
        return resolved;
    }

    /// <summary>
    /// Refuses <paramref name="resolved"/> (a resolved definition, as <see cref="CheckUpsert"/> gives it) when it moves
    /// its namespace's log or dead-letter topic; the admin calls check an update with it.
    /// </summary>
    /// <remarks>
    /// The topology reads a namespace's current log only: records on the old one it had not read yet, and writes another
    /// ingress took under the old definition before it saw the change, were acknowledged TRUE and never delivered. Dead
    /// letters already on an old dead-letter topic were out of reach of 'wal dlq'. An update replaces the whole
    /// definition, so one that left the topic out moved a log defined elsewhere back to wal.&lt;name&gt; without a word.
    /// A definition followed from the control-plane topic is taken as it is (<see cref="Upsert"/>).
    /// </remarks>
    /// <exception cref="NamespaceConfigException">It moves either topic.</exception>
    public void RefuseMove(NamespaceConfig resolved)
    {
        ArgumentNullException.ThrowIfNull(resolved);
        if (!TryGet(resolved.Name, out var current))
        {
            return;
        }

        var errors = new List<string>();
        if (resolved.Topic != current.Topic)
        {
            errors.Add($"topic: '{current.Topic}' cannot change to '{resolved.Topic}'; the topology reads only a namespace's current log, so "
                + "writes acknowledged on the old one and not yet delivered would never be (define a namespace under another name to log elsewhere)");
        }

        if (resolved.DeadLetterTopic != current.DeadLetterTopic)
        {
            errors.Add($"dead_letter_topic: '{current.DeadLetterTopic}' cannot change to '{resolved.DeadLetterTopic}'; "
                + "'wal dlq' reads only a namespace's current dead-letter topic, so the dead letters already in the old one would be out of its reach");
        }

        if (errors.Count > 0)
        {
            throw new NamespaceConfigException(resolved.Name, errors);
        }
    }

    /// <summary>Removes a definition; false if there was none.</summary>
    public bool Remove(string name)
    {
        var current = Volatile.Read(ref _current).ByName;
        if (!current.ContainsKey(name))
        {
            return false;
        }

        Replace(current.Values.Where(n => n.Name != name));
        return true;
    }

    private void Swap(Dictionary<string, NamespaceConfig> resolved)
    {
        Volatile.Write(ref _current, new Snapshot(resolved.ToFrozenDictionary(StringComparer.Ordinal)));
        Changed?.Invoke(this, EventArgs.Empty);
    }

    // Nothing would follow a new count: existing topics are never re-created, so the log keeps its count and the
    // registry would name one it does not have; a log moved to a new topic got the new count while the state stores'
    // changelogs (named after the namespace) kept the old one, and the stream thread stopped on the first task with
    // no changelog partition (Local: Unknown partition), every restart again. A grown log would also move keys to
    // other partitions, behind records of theirs not yet delivered. Kafka Streams refuses such changelogs too.
    // A change to the count the log already has is the exception: a definition written around the admin calls (or
    // before this refusal) can name a count its log lacks, and refusing to correct it left the namespace stuck, its
    // topic check asking for the log's count and this refusing it. Nothing moves then: the ingress routes keys by the
    // count Kafka reports for the log, not the definition's, and the topic check refuses the change unless the store
    // changelogs that exist have that count too; the definition's count only decides topics created from then on.
    // Only for the log it keeps: a log moved onto another topic with that topic's count is a move, which the admin
    // calls refuse (RefuseMove).
    private void RefusePartitionChange(NamespaceConfig resolved, int? logPartitions)
    {
        if (TryGet(resolved.Name, out var current) && current.Partitions != resolved.Partitions
            && !(resolved.Topic == current.Topic && resolved.Partitions == logPartitions))
        {
            throw new NamespaceConfigException(resolved.Name, [$"partitions: {current.Partitions} cannot change to {resolved.Partitions}; "
                + "a namespace keeps the count its topic and state-store changelogs were created with (define a namespace under another name for another count), "
                + $"and changes only to the count its topic '{current.Topic}' has, when its definition names another"]);
        }
    }

    private IEnumerable<NamespaceConfig> WithUpserted(NamespaceConfig definition) =>
        Volatile.Read(ref _current).ByName.Values.Where(n => n.Name != definition.Name).Append(definition);

    // Every definition resolved, each name once and each topic in one role of one namespace: two
    // namespaces on one topic would read each other's writes, and the topology cannot be built
    // with one topic read by two sources.
    private static Dictionary<string, NamespaceConfig> Resolve(IEnumerable<NamespaceConfig> namespaces)
    {
        var resolved = new Dictionary<string, NamespaceConfig>(StringComparer.Ordinal);
        var topics = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var definition in namespaces)
        {
            var config = NamespaceDefaults.Resolve(definition);
            if (!resolved.TryAdd(config.Name, config))
            {
                throw new NamespaceConfigException(config.Name, [$"name: '{config.Name}' is defined twice"]);
            }

            foreach (var (field, topic) in NamespaceValidator.Topics(config))
            {
                if (!topics.TryAdd(topic, $"{field} of namespace '{config.Name}'"))
                {
                    throw new NamespaceConfigException(config.Name, [$"{field}: '{topic}' is already the {topics[topic]}"]);
                }
            }
        }

        return resolved;
    }

    /// <summary>
    /// One set of definitions and the lookups made from it, built once per change: every write's target
    /// is checked against the namespaces' topics, and sorting the definitions per write cost the ingress
    /// about a sixth of what it allocated per streamed write.
    /// </summary>
    private sealed class Snapshot
    {
        public static readonly Snapshot Empty = new(FrozenDictionary<string, NamespaceConfig>.Empty);

        public Snapshot(FrozenDictionary<string, NamespaceConfig> byName)
        {
            ByName = byName;
            All = [.. byName.Values.OrderBy(n => n.Name, StringComparer.Ordinal)];
            // Resolve has made sure no topic is in two roles.
            ByTopic = byName.Values
                .SelectMany(n => NamespaceValidator.Topics(n).Select(t => (t.Topic, Owner: n)))
                .ToFrozenDictionary(t => t.Topic, t => t.Owner, StringComparer.Ordinal);
        }

        public FrozenDictionary<string, NamespaceConfig> ByName { get; }

        public IReadOnlyList<NamespaceConfig> All { get; }

        public FrozenDictionary<string, NamespaceConfig> ByTopic { get; }
    }
}
