using Microsoft.Extensions.Logging.Abstractions;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>Reads the namespace definitions straight from the control-plane topic.</summary>
internal static class NamespaceDirectory
{
    public static async Task<IReadOnlyList<NamespaceConfig>> LoadAsync(string bootstrapServers, CancellationToken cancellationToken)
    {
        await using var controlPlane = new ControlPlane(new ControlPlaneOptions { BootstrapServers = bootstrapServers, Timeout = TimeSpan.FromSeconds(8) }, new NamespaceRegistry(), NullLogger<ControlPlane>.Instance);
        await controlPlane.StartAsync(cancellationToken);
        return controlPlane.Registry.All;
    }

    public static async Task<NamespaceConfig> RequireAsync(string bootstrapServers, string name, CancellationToken cancellationToken)
    {
        var all = await LoadAsync(bootstrapServers, cancellationToken);
        return all.FirstOrDefault(n => n.Name == name)
            ?? throw new CliException(ExitCodes.Failed, $"namespace '{name}' is not defined in the control plane at {bootstrapServers}",
                $"Defined: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(n => n.Name)))}. Check --namespace and --bootstrap-servers.");
    }
}
