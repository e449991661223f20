using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Topology.Replication;

/// <summary>
/// Owns a region's <see cref="RegionReplicator"/>s and keeps them in step with the namespace
/// registry: when the replication plan changes (a replicating namespace created or deleted, its
/// regions or topic changed), it stops the replicators no longer planned, starts the new ones and
/// leaves the rest running untouched. Changes are debounced like <see cref="WalTopologyHost"/>'s.
/// </summary>
/// <remarks>
/// A stopped replicator flushes its producer, commits every acknowledged offset and leaves its
/// group (<see cref="RegionReplicator.DisposeAsync"/>), so a replicator started again later for the
/// same (namespace, region) resumes from that commit: nothing acknowledged is sent twice except what
/// the flush could not confirm, and nothing is skipped. A changed replicator (same group, new
/// options) is stopped before its successor starts, so the two never share the group. A replicator
/// that an unexpected error stopped is replaced the same way after the debounce plus a second: left
/// alone, its namespace's records would pile up uncopied until the process restarted.
/// </remarks>
public sealed partial class ReplicationHost : IAsyncDisposable
{
    private readonly INamespaceRegistry _registry;
    private readonly Func<IEnumerable<NamespaceConfig>, IReadOnlyList<RegionReplicatorOptions>> _plan;
    private readonly ITopicProvisioner? _localTopics;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TopologyMetrics? _metrics;
    private readonly RegistryFollower _follower;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, RegionReplicator> _running = new(StringComparer.Ordinal);
    private IReadOnlyList<RegionReplicator> _snapshot = [];
    private bool _started;
    private int _changesApplied;

    /// <param name="registry">The namespaces; the host follows its <see cref="INamespaceRegistry.Changed"/> event.</param>
    /// <param name="plan">
    /// Plans the replicators for some namespaces, normally <see cref="CrossRegionReplication.Plan"/> with this
    /// region's name and servers; throws <see cref="ArgumentException"/> for a namespace this region cannot replicate.
    /// </param>
    /// <param name="localTopics">When given, creates a namespace's topic in the local cluster before its replicator subscribes to it.</param>
    /// <param name="loggers">Logging.</param>
    /// <param name="debounce">How long the registry must stay unchanged before the plan is compared again.</param>
    /// <param name="metrics">Where the replicators count what they do; <see cref="TopologyMetrics.Shared"/> when null.</param>
    public ReplicationHost(
        INamespaceRegistry registry, Func<IEnumerable<NamespaceConfig>, IReadOnlyList<RegionReplicatorOptions>> plan,
        ITopicProvisioner? localTopics = null, ILoggerFactory? loggers = null, TimeSpan? debounce = null, TopologyMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(plan);
        _registry = registry;
        _follower = new RegistryFollower(registry, debounce, ReconcileAsync);
        _plan = plan;
        _localTopics = localTopics;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<ReplicationHost>();
        _metrics = metrics;
    }

    /// <summary>The running replicators, one per (namespace, remote region), ordered by group id.</summary>
    public IReadOnlyList<RegionReplicator> Replicators => Volatile.Read(ref _snapshot);

    /// <summary>The namespaces being replicated.</summary>
    public IReadOnlyList<string> Namespaces => [.. Replicators.Select(r => r.Options.Namespace).Distinct()];

    /// <summary>How many changes of the plan were applied since start.</summary>
    public int ChangesApplied => Volatile.Read(ref _changesApplied);

    /// <summary>Follows the registry and starts the replicators it plans; a change meanwhile is applied after.</summary>
    /// <exception cref="ArgumentException">A replicating namespace cannot be replicated from this region (see <see cref="CrossRegionReplication.Plan"/>).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_started)
        {
            throw new InvalidOperationException("The replication host can start only once.");
        }

        _started = true;
        // Followed before the registry is read, with the gate held so its first step waits for this start: a namespace
        // created while the first replicators started was raised before the host listened, and went unreplicated until
        // some later change.
        await _gate.WaitAsync(cancellationToken);
        _follower.Start();
        try
        {
            // At start a bad namespace is the operator's to fix before anything runs: the error propagates.
            await ApplyAsync(_plan(_registry.All), cancellationToken);
        }
        catch
        {
            // A step waiting for the gate must not start replicators for a host whose start failed: stopped first (that
            // cancels a step waiting for the gate), then the gate let go.
            await _follower.StopAsync();
            _gate.Release();
            throw;
        }

        _gate.Release();
    }

    /// <summary>Stops following the registry and stops every replicator cleanly (committing).</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        await _follower.StopAsync();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await ApplyAsync([], CancellationToken.None);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        await _follower.DisposeAsync();
        _gate.Dispose();
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var plan = PlanEach(_registry.All);
            var current = _running.Values.Select(r => r.Options).ToHashSet();
            var failed = _running.Values.Where(r => r.HasFailed).ToList();
            var planChanged = !current.SetEquals(plan);
            if (!planChanged && failed.Count == 0)
            {
                return;
            }

            foreach (var replicator in failed)
            {
                LogReplacingFailed(_logger, replicator.Options.Namespace, replicator.Options.RemoteRegion);
            }

            if (planChanged)
            {
                var before = Describe(current);
                var after = Describe(plan);
                LogPlanChanged(_logger, before, after);
            }

            await ApplyAsync(plan, cancellationToken);
            Interlocked.Increment(ref _changesApplied);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A topic could not be created or a client not built: try again rather than stop following.
            LogApplyFailed(_logger, e.Message);
            _follower.RetryLater();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Plans namespace by namespace, so one namespace this region cannot replicate (it does not list
    /// the region) is reported and keeps whatever replicators it had, instead of freezing every other change.
    /// </summary>
    private List<RegionReplicatorOptions> PlanEach(IEnumerable<NamespaceConfig> namespaces)
    {
        var plan = new List<RegionReplicatorOptions>();
        foreach (var ns in namespaces)
        {
            try
            {
                plan.AddRange(_plan([ns]));
            }
            catch (ArgumentException e)
            {
                LogCannotPlan(_logger, ns.Name, e.Message);
                plan.AddRange(_running.Values.Select(r => r.Options).Where(o => o.Namespace == ns.Name));
            }
        }

        return plan;
    }

    /// <summary>Stops what is running but not in <paramref name="plan"/> (or planned differently), then starts what is missing.</summary>
    private async Task ApplyAsync(IReadOnlyCollection<RegionReplicatorOptions> plan, CancellationToken cancellationToken)
    {
        var wanted = plan.ToDictionary(o => o.GroupId, StringComparer.Ordinal);
        foreach (var (group, replicator) in _running.ToList())
        {
            if (!wanted.TryGetValue(group, out var options) || options != replicator.Options || replicator.HasFailed)
            {
                // Stopping commits every acknowledged offset before the group is left; a failed one stays at its last commit.
                await replicator.DisposeAsync();
                _running.Remove(group);
                if (!replicator.HasFailed)
                {
                    LogStopped(_logger, replicator.Options.Namespace, replicator.Options.RemoteRegion);
                }

                Publish();
            }
        }

        // Each on its own: one that cannot start (its topic refused, say) kept every replicator after it in the plan
        // stopped, those only restarted for a change of their regions among them. Its error is raised once the others run.
        Exception? first = null;
        foreach (var options in plan.Where(o => !_running.ContainsKey(o.GroupId)))
        {
            try
            {
                await EnsureTopicAsync(options, cancellationToken);
                var replicator = new RegionReplicator(options, _loggers.CreateLogger($"Wal.Topology.Replication.{options.Namespace}.{options.RemoteRegion}"), _metrics);
                await replicator.StartAsync(cancellationToken);
                _running[options.GroupId] = replicator;
                Publish();
                _ = replicator.Stopped.ContinueWith(
                    _ => _follower.RetryLater(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogStartFailed(_logger, options.Namespace, options.RemoteRegion, e.Message);
                first ??= e;
            }
        }

        if (first is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
    }

    private async Task EnsureTopicAsync(RegionReplicatorOptions options, CancellationToken cancellationToken)
    {
        // A consumer subscribed to a topic that does not exist yet would notice it only at its next
        // metadata refresh (minutes): create it first, with the namespace's partition count.
        if (_localTopics is not null && _registry.TryGet(options.Namespace, out var ns))
        {
            await _localTopics.EnsureAsync([new TopicSpec(ns.Topic, ns.Partitions)], cancellationToken);
        }
    }

    private void Publish() => Volatile.Write(ref _snapshot, [.. _running.Values.OrderBy(r => r.Options.GroupId, StringComparer.Ordinal)]);

    private static string Describe(IEnumerable<RegionReplicatorOptions> plan) =>
        string.Join(", ", plan.Select(o => $"{o.Namespace}->{o.RemoteRegion}").Order(StringComparer.Ordinal));

    [LoggerMessage(Level = LogLevel.Information, Message = "The replication plan changed ([{Before}] -> [{After}]); stopping and starting replicators to match")]
    private static partial void LogPlanChanged(ILogger logger, string before, string after);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not start replicating namespace {Namespace} to region {Remote}: {Error}; the other replicators go on")]
    private static partial void LogStartFailed(ILogger logger, string @namespace, string remote, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped replicating namespace {Namespace} to region {Remote} (progress committed)")]
    private static partial void LogStopped(ILogger logger, string @namespace, string remote);

    [LoggerMessage(Level = LogLevel.Error, Message = "Namespace {Namespace} cannot be replicated from this region; its replication is left as it was: {Error}")]
    private static partial void LogCannotPlan(ILogger logger, string @namespace, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The replicator of namespace {Namespace} to region {Remote} stopped on an error; starting a new one from its last commit")]
    private static partial void LogReplacingFailed(ILogger logger, string @namespace, string remote);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not apply the new replication plan; retrying: {Error}")]
    private static partial void LogApplyFailed(ILogger logger, string error);
}
