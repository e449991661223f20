using Wal.Streams;
using Wal.Topology;

namespace Wal.Cli.Hosting;

/// <summary>What <c>/healthz</c> and <c>/readyz</c> answer for one topology instance.</summary>
/// <remarks>
/// Made before the host, so the probes answer while the instance reads its namespaces and creates their topics (a
/// while, when Kafka is slow to create them): alive and starting, where a port not yet listening looked dead.
/// </remarks>
internal sealed class TopologyHealth
{
    private volatile WalTopologyHost? _host;
    private volatile bool _started;

    public TopologyHealth()
    {
    }

    public TopologyHealth(WalTopologyHost host) => _host = host;

    /// <summary>The host is built; its streams are read only once <see cref="HostStarted"/> says they exist.</summary>
    public void HostBuilt(WalTopologyHost host) => _host = host;

    /// <summary>The host has created its topics and started its first streams instance.</summary>
    public void HostStarted() => _started = true;

    /// <summary>
    /// Alive unless a stream thread stopped on an error: nothing in the process revives it, so the orchestrator should
    /// restart the instance (it restores from its changelogs). Starting, restoring or rebalancing is alive, however long it takes.
    /// </summary>
    public (bool Ok, string Text) Liveness() => _host?.Failed is { IsCompletedSuccessfully: true } failed
        ? (false, $"unhealthy: a stream thread stopped on an error ({failed.Result.GetBaseException().Message}); restart this instance\n")
        : (true, "ok\n");

    /// <summary>Ready only while the streams instance is running: joined, assigned, restored and processing.</summary>
    public (bool Ok, string Text) Readiness()
    {
        if (Liveness() is (false, var unhealthy))
        {
            return (false, "not ready: " + unhealthy["unhealthy: ".Length..]);
        }

        if (!_started || _host is not { } host)
        {
            return (false, "not ready: starting (reading the namespaces, creating topics, building the topology)\n");
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
