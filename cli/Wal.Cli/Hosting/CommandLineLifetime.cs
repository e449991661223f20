using Microsoft.Extensions.Hosting;

namespace Wal.Cli.Hosting;

/// <summary>
/// Leaves Ctrl-C and SIGTERM to the `wal` command, which cancels one token for every part it runs.
/// ASP.NET's default console lifetime would take the signal for the ingress alone and leave the
/// topology, memcached and Kafka running.
/// </summary>
internal sealed class CommandLineLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
