using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka;
using Wal.Namespaces;
using Wal.Sinks;
using Wal.Streams;

namespace Wal.Topology;

/// <summary>
/// Runs the WAL topology and keeps it in step with the namespace registry. A changed policy needs
/// nothing (the processors read the registry on every record), but the topology's sources are
/// fixed when it is built: when the SET of namespaces (or a namespace's topics) changes, the host
/// creates the new topics, closes the running <see cref="KafkaStreams"/> cleanly (committing, so
/// nothing is processed twice that need not be) and starts a new one with the rebuilt topology.
/// Local RocksDB checkpoints make the restart cheap: stores reopen at their checkpoint.
/// </summary>
public sealed partial class WalTopologyHost : IAsyncDisposable
{
    private readonly INamespaceRegistry _registry;
    private readonly ISink _sink;
    private readonly WalTopologyOptions _options;
    private readonly StreamsConfig _streamsConfig;
    private readonly ITopicProvisioner _topics;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TopologyMetrics? _metrics;
    private readonly RegistryFollower _follower;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private KafkaStreams? _streams;
    private int _started;
    private HashSet<string> _shape = [];
    private IReadOnlyCollection<string> _names = [];
    private int _rebuilds;

    /// <param name="registry">The namespaces; the host follows its <see cref="INamespaceRegistry.Changed"/> event.</param>
    /// <param name="sink">Where records are delivered.</param>
    /// <param name="options">The WAL processors' knobs.</param>
    /// <param name="streamsConfig">The streams runtime's configuration, the same for every rebuilt instance.</param>
    /// <param name="topics">Creates a new namespace's topics (log, dead letters, store changelogs) before it is consumed.</param>
    /// <param name="loggers">Logging.</param>
    /// <param name="debounce">How long the set must stay unchanged before a rebuild, so a burst of changes (a whole seed file) costs one.</param>
    /// <param name="metrics">Where the processors count what they do; <see cref="TopologyMetrics.Shared"/> when null.</param>
    public WalTopologyHost(
        INamespaceRegistry registry, ISink sink, WalTopologyOptions options, StreamsConfig streamsConfig, ITopicProvisioner topics,
        ILoggerFactory? loggers = null, TimeSpan? debounce = null, TopologyMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(streamsConfig);
        ArgumentNullException.ThrowIfNull(topics);
        options.Validate();
        streamsConfig.Validate();
        _registry = registry;
        _follower = new RegistryFollower(registry, debounce, RebuildIfChangedAsync);
        _sink = sink;
        _options = options;
        _streamsConfig = streamsConfig with { AdditionalProducerConfig = RecordLimits.WithProducerHeadroom(streamsConfig.AdditionalProducerConfig) };
        _topics = topics;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<WalTopologyHost>();
        _metrics = metrics;
    }

    /// <summary>The running streams instance; a rebuild replaces it.</summary>
    public KafkaStreams Streams => _streams ?? throw new InvalidOperationException("The topology host runs no streams: not started, or no namespaces.");

    /// <summary>The running streams instance's state; null before start and while there are no namespaces to run.</summary>
    public KafkaStreamsState? State => _streams?.State;

    /// <summary>The namespaces the running topology consumes.</summary>
    public IReadOnlyCollection<string> Namespaces => Volatile.Read(ref _names);

    /// <summary>How many times the topology was rebuilt since start.</summary>
    public int Rebuilds => Volatile.Read(ref _rebuilds);

    /// <summary>
    /// Completes with the error that stopped a stream thread; never for a clean close or a rebuild. Nothing in the
    /// process revives that thread: it left the group, so its partitions went to the other instances, and with none
    /// left (a single instance, or one error that stops them all) the records wait unprocessed while the process looks
    /// alive. A process hosting the topology should exit when this completes, so its supervisor starts it again.
    /// A rebuild refused its topics does not complete it either: the refusal comes before the close, so the running
    /// instance keeps the namespaces it has while the rebuild is tried again.
    /// </summary>
    public Task<Exception> Failed => _failed.Task;

    /// <summary>Follows the registry, creates the namespaces' topics and starts the topology; a change meanwhile rebuilds it after.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The topology host can start only once.");
        }

        // Followed before the registry is read, with the gate held so its first step waits for this start: a namespace
        // created while the first topics were made (by another instance, or the rest of a seed another process publishes)
        // was raised before the host listened, and the topology ran without it until some later change.
        await _gate.WaitAsync(cancellationToken);
        _follower.Start();
        try
        {
            await StartStreamsAsync(cancellationToken);
        }
        catch
        {
            // A step waiting for the gate must not start streams for a host whose start failed: stopped first (that
            // cancels a step waiting for the gate), then the gate let go.
            await _follower.StopAsync();
            _gate.Release();
            throw;
        }

        _gate.Release();
    }

    /// <summary>Stops following the registry and closes the topology cleanly (committing).</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        await _follower.StopAsync();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_streams is not null)
            {
                await _streams.CloseAsync(cancellationToken);
            }
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

    /// <summary>What decides the topology's sources and sinks: each namespace's name and topics.</summary>
    private static HashSet<string> ShapeOf(IEnumerable<Schemas.V1.NamespaceConfig> namespaces) => namespaces.Select(ShapeOf).ToHashSet(StringComparer.Ordinal);

    private static string ShapeOf(Schemas.V1.NamespaceConfig n) => $"{n.Name}\n{n.Topic}\n{n.DeadLetterTopic}\n{n.Partitions}";

    private async Task StartStreamsAsync(CancellationToken cancellationToken)
    {
        // The registry is read once: the shape recorded is exactly what this topology was built from.
        var namespaces = _registry.All;
        if (await PrepareAsync(namespaces, cancellationToken) is { } topology)
        {
            await RunAsync(namespaces, topology, cancellationToken);
        }
        else
        {
            LogNoNamespaces(_logger);
        }
    }

    /// <summary>
    /// Creates the topics of the namespaces the running topology lacks (or has with other topics) and builds the topology:
    /// all that can be refused before a topology runs. Null with no namespaces, since a topology needs a source: the host
    /// then runs no streams until one is created. The running ones' topics were made for their build: ensured again on
    /// each rebuild, they cost the embedded cluster some 50 ms a namespace while every namespace waited.
    /// </summary>
    private async Task<Streams.Topology?> PrepareAsync(IReadOnlyCollection<Schemas.V1.NamespaceConfig> namespaces, CancellationToken cancellationToken)
    {
        if (namespaces.Count == 0)
        {
            return null;
        }

        var added = namespaces.Where(n => !_shape.Contains(ShapeOf(n))).ToList();
        await _topics.EnsureAsync(WalTopology.TopicsFor(added, _streamsConfig.ApplicationId), cancellationToken);
        return WalTopology.Build(namespaces, _registry, _sink, _options, _loggers, _metrics);
    }

    private async Task RunAsync(IReadOnlyCollection<Schemas.V1.NamespaceConfig> namespaces, Streams.Topology topology, CancellationToken cancellationToken)
    {
        var streams = new KafkaStreams(topology, _streamsConfig, _loggers);
        streams.StateChanged += OnStreamsStateChanged;
        try
        {
            await streams.StartAsync(cancellationToken);
        }
        catch
        {
            // Closed, so that nothing it took (its state directory's lock) outlives it: the next attempt needs them.
            streams.StateChanged -= OnStreamsStateChanged;
            await streams.DisposeAsync();
            throw;
        }

        _streams = streams;
        _shape = ShapeOf(namespaces);
        Volatile.Write(ref _names, namespaces.Select(n => n.Name).ToList());
    }

    private async Task RebuildIfChangedAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var namespaces = _registry.All;
            if (ShapeOf(namespaces).SetEquals(_shape))
            {
                return;
            }

            var before = string.Join(", ", Namespaces);
            var after = string.Join(", ", namespaces.Select(n => n.Name));
            LogRebuilding(_logger, before, after);

            // Before the close, so a refusal leaves the running instance serving the namespaces it has rather than nothing.
            var topology = await PrepareAsync(namespaces, cancellationToken);

            if (_streams is { } running)
            {
                // Unhooked first: a thread that fails while this close commits (a changelog record refused) ends the old
                // instance in Error, but the records it leaves are redelivered to the next instance, which starts
                // anyway; taken for a failure of the host, it made `wal topology` exit beside a running topology.
                running.StateChanged -= OnStreamsStateChanged;
                // Not cancellable: a close cut short would leave stream threads running beside the next instance.
                await running.CloseAsync(CancellationToken.None);
                // Nothing is consumed now. Kept as what the closed instance consumed, a start that failed below and was
                // retried after the change had been undone found the set unchanged and left every namespace stopped.
                Volatile.Write(ref _names, []);
                _shape = [];
            }

            if (topology is null)
            {
                // The last namespace went: its records and timers wait, undelivered, until a namespace is created again.
                _streams = null;
            }
            else
            {
                await RunAsync(namespaces, topology, cancellationToken);
            }

            Interlocked.Increment(ref _rebuilds);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Try again after the debounce rather than stop following the registry (a broker that is back will let the
            // next attempt through); until then the running instance keeps the namespaces it was built with.
            LogRebuildFailed(_logger, e.Message);
            _follower.RetryLater();
        }
        finally
        {
            _gate.Release();
        }
    }

    private void OnStreamsStateChanged(object? sender, KafkaStreamsStateChangedEventArgs e)
    {
        if (e.NewState == KafkaStreamsState.Error)
        {
            var streams = (KafkaStreams)sender!;
            _failed.TrySetResult(streams.FatalError ?? new StreamsException("A stream thread stopped on an error it did not report."));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No namespaces: the topology runs no streams until one is created")]
    private static partial void LogNoNamespaces(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "The set of namespaces changed ({Before} -> {After}); restarting the topology with the new set")]
    private static partial void LogRebuilding(ILogger logger, string before, string after);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not rebuild the topology for the new set of namespaces; retrying: {Error}")]
    private static partial void LogRebuildFailed(ILogger logger, string error);
}
