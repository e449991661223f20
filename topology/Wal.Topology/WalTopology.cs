using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Topology.Dispatch;
using Wal.Topology.Mutations;

namespace Wal.Topology;

/// <summary>
/// Builds the stream topology for a set of namespaces: per namespace, its log topic feeds a
/// dispatch processor (delivery, delay timers, retries) whose dead letters go to the namespace's
/// dead-letter topic. Namespaces are independent sub-topologies, named after them, so their tasks are too (task
/// <c>orders_0</c> reads partition 0 of namespace orders). The processors count what they do on the
/// <see cref="TopologyMetrics"/> given to Build, or on <see cref="TopologyMetrics.Shared"/>.
/// </summary>
public static class WalTopology
{
    /// <summary>A topology for every namespace the registry holds now.</summary>
    public static Streams.Topology Build(INamespaceRegistry registry, ISink sink, WalTopologyOptions options, ILoggerFactory? loggers = null, TopologyMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return Build(registry.All, registry, sink, options, loggers, metrics);
    }

    /// <summary>
    /// A topology whose sources are <paramref name="namespaces"/>; its processors read each
    /// namespace's policy from <paramref name="registry"/> on every record, so policy changes apply
    /// without a rebuild.
    /// </summary>
    public static Streams.Topology Build(
        IEnumerable<NamespaceConfig> namespaces, INamespaceRegistry registry, ISink sink, WalTopologyOptions options, ILoggerFactory? loggers = null,
        TopologyMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        loggers ??= NullLoggerFactory.Instance;
        metrics ??= TopologyMetrics.Shared;
        var builder = new TopologyBuilder();
        foreach (var ns in namespaces)
        {
            AddNamespace(builder, ns, registry, sink, options, loggers, metrics);
        }

        return builder.Build();
    }

    /// <summary>Every topic the namespaces and their state stores need: log, dead letters, and the stores' changelogs.</summary>
    public static IReadOnlyCollection<TopicSpec> TopicsFor(IEnumerable<NamespaceConfig> namespaces, string applicationId) =>
        namespaces.SelectMany(ns => new[]
        {
            new TopicSpec(ns.Topic, ns.Partitions),
            // Kept until deleted: a dead letter is the only copy of a write acknowledged and not delivered, and one
            // deleted by retention before an operator redrove it was lost.
            new TopicSpec(ns.DeadLetterTopic, ns.Partitions, Expires: false),
            new TopicSpec($"{applicationId}-{TimerStoreName(ns.Name)}-changelog", ns.Partitions, Compacted: true),
            new TopicSpec($"{applicationId}-{ChunkStoreName(ns.Name)}-changelog", ns.Partitions, Compacted: true),
            new TopicSpec($"{applicationId}-{MutationStoreName(ns.Name)}-changelog", ns.Partitions, Compacted: true),
        }).ToList();

    /// <summary>The name of a namespace's timer store; its changelog is <c>{app}-{name}-changelog</c>.</summary>
    public static string TimerStoreName(string namespaceName) => $"{namespaceName}-timers";

    /// <summary>The name of a namespace's store of multi-table mutation chunks.</summary>
    public static string ChunkStoreName(string namespaceName) => $"{namespaceName}-chunks";

    /// <summary>The name of a namespace's store of multi-table mutation progress and timers.</summary>
    public static string MutationStoreName(string namespaceName) => $"{namespaceName}-mutations";

    private static void AddNamespace(
        TopologyBuilder builder, NamespaceConfig ns, INamespaceRegistry registry, ISink sink, WalTopologyOptions options, ILoggerFactory loggers, TopologyMetrics metrics)
    {
        var source = $"{ns.Name}-log";
        var dispatch = $"{ns.Name}-dispatch";
        var deadLetters = $"{ns.Name}-dead-letters";
        var timers = TimerStoreName(ns.Name);
        var logger = loggers.CreateLogger($"Wal.Topology.{ns.Name}");
        builder.AddSource(source, Deserializers.ByteArray, Deserializers.ByteArray, ns.Topic);
        // Named, so a namespace's tasks and their state directories keep their ids when namespaces are added or removed: numbered,
        // a namespace created with a name that sorts first renumbered every other one, whose stores were then all restored
        // from their changelogs' beginning on the rebuild.
        builder.NameSubtopology(source, ns.Name);
        // Mutation chunks and markers branch off before dispatch. Every namespace gets the branch, not
        // only those with the mutation persona, so a persona added on reload finds its stores there.
        var route = $"{ns.Name}-route";
        var mutate = $"{ns.Name}-mutate";
        builder.AddProcessor(route, () => new EntryRouter(dispatch, mutate), source);
        builder.AddProcessor(dispatch, () => new DispatchProcessor(ns.Name, timers, registry, sink, options, logger, metrics), route);
        builder.AddProcessor(mutate, () => new MutationProcessor(ns.Name, ChunkStoreName(ns.Name), MutationStoreName(ns.Name), registry, sink, options, logger, metrics), route);
        builder.AddSink(deadLetters, ns.DeadLetterTopic, Serializers.ByteArray, Serializers.ByteArray, dispatch, mutate);
        builder.AddStateStore(options.PersistentStores ? Stores.PersistentKeyValueStore(timers) : Stores.InMemoryKeyValueStore(timers), dispatch);
        foreach (var store in new[] { ChunkStoreName(ns.Name), MutationStoreName(ns.Name) })
        {
            builder.AddStateStore(options.PersistentStores ? Stores.PersistentKeyValueStore(store) : Stores.InMemoryKeyValueStore(store), mutate);
        }
    }
}
