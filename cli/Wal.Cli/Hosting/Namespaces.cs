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
    /// definitions on first start, and creates every namespace's topics.
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

    /// <summary>Every topic the namespaces and their stores need.</summary>
    public static IReadOnlyCollection<TopicSpec> TopicsFor(IEnumerable<Schemas.V1.NamespaceConfig> namespaces, string applicationId) =>
        WalTopology.TopicsFor(namespaces, applicationId);
}
