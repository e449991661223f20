using Wal.Streams;
using Wal.Topology;

namespace Wal.Cli.Hosting;

/// <summary>What <c>/healthz</c> and <c>/readyz</c> answer for one topology instance.</summary>
/// <param name="host">The instance; its streams are read only once <see cref="HostStarted"/> says they exist.</param>
internal sealed class TopologyHealth(WalTopologyHost host)
{
    private volatile bool _started;

    /// <summary>The host has created its topics and started its first streams instance.</summary>
    public void HostStarted() => _started = true;

    /// <summary>
    /// Alive unless a stream thread stopped on an error: nothing in the process revives it, so the orchestrator should
    /// restart the instance (it restores from its changelogs). Restoring or rebalancing is alive, however long it takes.
    /// </summary>
    public (bool Ok, string Text) Liveness() => host.Failed is { IsCompletedSuccessfully: true } failed
        ? (false, $"unhealthy: a stream thread stopped on an error ({failed.Result.GetBaseException().Message}); restart this instance\n")
        : (true, "ok\n");

    /// <summary>Ready only while the streams instance is running: joined, assigned, restored and processing.</summary>
    public (bool Ok, string Text) Readiness()
    {
        if (Liveness() is (false, var unhealthy))
        {
            return (false, "not ready: " + unhealthy["unhealthy: ".Length..]);
        }

        if (!_started)
        {
            return (false, "not ready: starting (creating topics, building the topology)\n");
        }

        return host.State switch
        {
            // Nothing to process until a namespace is created; the instance is up to take it.
            null => (true, "ready: no namespaces yet\n"),
            KafkaStreamsState.Running => (true, "ready\n"),
            var state => (false, $"not ready: {state} ({Meaning(state.Value)})\n"),
        };
    }

    private static string Meaning(KafkaStreamsState state) => state switch
    {
        KafkaStreamsState.Created or KafkaStreamsState.Rebalancing => "joining the group, being assigned partitions or restoring state stores",
        // A changed set of namespaces closes the running instance before its replacement starts.
        KafkaStreamsState.PendingShutdown or KafkaStreamsState.NotRunning => "closing, to stop or to rebuild for a changed set of namespaces",
        _ => "a stream thread stopped on an error",
    };
}
