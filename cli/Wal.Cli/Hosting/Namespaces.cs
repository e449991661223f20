using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka;
using Wal.Namespaces;
using Wal.Topology;

namespace Wal.Cli.Hosting;

/// <summary>Start-up shared by every way of running Wal: load the namespaces and make their topics exist.</summary>
internal static class Namespaces
{
    /// <summary>
    /// Follows the control-plane topic (creating it if needed), publishes the seed file's
    /// definitions on first start (or completes a seed an earlier start stopped part-way), and
    /// creates every namespace's topics.
    /// </summary>
    public static async Task<ControlPlane> StartControlPlaneAsync(
        string bootstrapServers, string? seedFile, ITopicProvisioner topics, string applicationId, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var seed = seedFile is null ? [] : NamespaceSeedFile.Load(seedFile);
        _ = new NamespaceRegistry(seed); // an invalid seed stops start-up before anything is written
        var options = new ControlPlaneOptions { BootstrapServers = bootstrapServers };
        await topics.EnsureAsync([options.TopicSpec], cancellationToken);
        var controlPlane = new ControlPlane(options, new NamespaceRegistry(), loggers.CreateLogger<ControlPlane>());
        try
        {
            await controlPlane.StartAsync(cancellationToken);
            await controlPlane.SeedIfEmptyAsync(seed, cancellationToken);
            await topics.EnsureAsync(TopicsFor(controlPlane.Registry.All, applicationId), cancellationToken);
            return controlPlane;
        }
        catch
        {
            await controlPlane.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Before a namespace is published: refuses it if its log or a store changelog exists with another partition count
    /// than it names, then creates its topics. Existing topics are never re-created, and a namespace deleted and created
    /// again under its name finds them as they were: with another count, the registry named one its log did not have,
    /// or (its log a new topic) the topology's stream thread stopped on the changelog partitions it lacked.
    /// </summary>
    /// <param name="topics">Creates the topics that are missing.</param>
    /// <param name="bootstrapServers">The Kafka cluster.</param>
    /// <param name="ns">The resolved definition.</param>
    /// <param name="applicationId">The topology's application id, which names the store changelogs.</param>
    /// <param name="logMustExist">
    /// The log must be there already (<paramref name="topics"/> creates none, as under <c>wal ingress --no-create-topics</c>):
    /// published without it, the namespace's writes failed, or, on a broker that auto-creates topics, the first write made
    /// the log with the broker's default count, which the definition did not name.
    /// </param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="NamespaceConfigException">A topic it needs exists with another count, or its log must and does not exist; nothing was created.</exception>
    /// <exception cref="KafkaException">Kafka did not answer, or could not say how many partitions one of those topics has; nothing was created.</exception>
    public static async Task PrepareAsync(
        ITopicProvisioner topics, string bootstrapServers, Schemas.V1.NamespaceConfig ns, string applicationId, bool logMustExist, CancellationToken cancellationToken)
    {
        var needed = TopicsFor([ns], applicationId);
        // The dead-letter topic is only written to, so its count is free.
        var copartitioned = needed.Where(t => t.Name != ns.DeadLetterTopic).Select(t => t.Name).ToList();
        var existing = await TopicPartitionCounts.ReadAsync(bootstrapServers, copartitioned, cancellationToken);
        var errors = existing
            .Where(c => c.Value != ns.Partitions)
            .Select(c => $"partitions: {ns.Partitions}, but topic '{c.Key}' exists with {c.Value}; a namespace's log and its store "
                + $"changelogs need one count (give it {c.Value}, or delete those topics first)")
            .ToList();
        if (logMustExist && !existing.ContainsKey(ns.Topic))
        {
            errors.Add($"topic: '{ns.Topic}' does not exist, and this instance creates no topics (--no-create-topics); "
                + $"create it first with {ns.Partitions} partition(s)");
        }

        if (errors.Count > 0)
        {
            throw new NamespaceConfigException(ns.Name, errors);
        }

        await topics.EnsureAsync(needed, cancellationToken);
    }

    /// <summary>Every topic the namespaces and their stores need.</summary>
    public static IReadOnlyCollection<TopicSpec> TopicsFor(IEnumerable<Schemas.V1.NamespaceConfig> namespaces, string applicationId) =>
        WalTopology.TopicsFor(namespaces, applicationId);
}
