using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Streams.Internals;

namespace Wal.Streams;

/// <summary>
/// Runs a <see cref="Topology"/> against Kafka: <see cref="StreamsConfig.NumStreamThreads"/> stream threads, each a member of the
/// consumer group <see cref="StreamsConfig.ApplicationId"/>, with one task per input partition. Start more instances with the
/// same application id to scale out; their tasks (and stores, restored from changelogs) move between them on rebalances.
/// </summary>
/// <remarks>
/// Changelog topics (<c>{ApplicationId}-{store}-changelog</c>) must have as many partitions as the input topics of their
/// sub-topology; a stream thread that finds another count stops with a <see cref="StreamsException"/> naming both topics.
/// This runtime does not create them: create them beforehand (a real cluster may auto-create them with its defaults;
/// librdkafka's mock cluster auto-creates topics a client names but has no CreateTopics API, so tests create them with
/// <c>EmbeddedKafkaCluster.CreateTopic</c>). The same applies to sink and dead-letter topics.
/// Each instance locks <c>{StateDirectory}/{ApplicationId}</c> while it runs: a second instance given the same state directory
/// and application id, in this process or another, fails to start.
/// </remarks>
public sealed class KafkaStreams : IAsyncDisposable
{
    private readonly Topology _topology;
    private readonly StreamsConfig _config;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<StreamThread> _threads = [];
    private KafkaStreamsState _state = KafkaStreamsState.Created;
    private StateDirectoryLock? _stateDirectoryLock;
    private Task? _stop;

    public KafkaStreams(Topology topology, StreamsConfig config, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(config);
        _topology = topology;
        _config = config;
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<KafkaStreams>();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Starts without taking the state directory's lock: for tests in which a second instance on the first's directory stands
    /// in for a second thread of one instance, whose tasks' stores meet the first's on RocksDB's in-process lock.
    /// </summary>
    internal bool IgnoresStateDirectoryLock { get; init; }

    /// <summary>Raised on every state change, on the thread that caused it.</summary>
    public event EventHandler<KafkaStreamsStateChangedEventArgs>? StateChanged;

    public KafkaStreamsState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The error that stopped a stream thread, once <see cref="State"/> is <see cref="KafkaStreamsState.Error"/>.</summary>
    public Exception? FatalError => _threads.Select(t => t.Error).FirstOrDefault(e => e is not null);

    /// <summary>Validates the configuration and starts the stream threads; it does not wait for them to be running.</summary>
    /// <exception cref="StreamsConfigException">An option is invalid; the message names it.</exception>
    /// <exception cref="InvalidOperationException">The instance was already started.</exception>
    /// <exception cref="StateDirectoryLockedException">Another instance runs with the same state directory and application id.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _config.Validate();
        lock (_gate)
        {
            if (_state != KafkaStreamsState.Created)
            {
                throw new InvalidOperationException($"KafkaStreams can start only once; it is {_state}.");
            }
        }

        var applicationDirectory = Directory.CreateDirectory(_config.ApplicationDirectory);
        _stateDirectoryLock = IgnoresStateDirectoryLock ? null : StateDirectoryLock.Acquire(applicationDirectory.FullName);
        try
        {
            RemoveStaleTaskDirectories(applicationDirectory);
            var instanceId = Guid.NewGuid().ToString("N")[..8];
            var logger = _loggers.CreateLogger("Wal.Streams.StreamThread");
            for (var i = 0; i < _config.NumStreamThreads; i++)
            {
                _threads.Add(new StreamThread(i + 1, instanceId, _topology, _config, _time, logger, OnThreadStateChanged));
            }
        }
        catch
        {
            // Nothing started: a caller that drops this instance without closing it must not leave the directory locked
            // (a rebuild's next attempt would be refused it for as long as the process lives).
            foreach (var thread in _threads)
            {
                thread.Dispose();
            }

            _threads.Clear();
            _stateDirectoryLock?.Dispose();
            throw;
        }

        Transition(KafkaStreamsState.Rebalancing);
        foreach (var thread in _threads)
        {
            thread.Start();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// How long a task directory of a sub-topology the topology lacks must have gone unwritten before a start deletes it:
    /// Kafka Streams' default <c>state.cleanup.delay.ms</c>. A sub-topology removed and soon added again (a namespace deleted by
    /// mistake and created again) then finds its stores rather than restoring them all. It also covers a task that another
    /// process runs in the directory where the lock could not be taken (a file system without <c>flock</c>): a running task
    /// writes its directory at every commit.
    /// </summary>
    internal static readonly TimeSpan StaleTaskDirectoryAge = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Deletes the directories of tasks whose sub-topology this topology does not have (a namespace's after it was removed,
    /// or ones numbered before the sub-topologies were named) once nothing in them was written for
    /// <see cref="StaleTaskDirectoryAge"/>. No task of this topology would open them, and logged stores live on in their
    /// changelogs; a persistent store without a changelog goes with its directory, as in Kafka Streams' cleaner. Other
    /// entries are left alone, and a directory that cannot be deleted is only logged: start-up does not depend on it.
    /// </summary>
    private void RemoveStaleTaskDirectories(DirectoryInfo applicationDirectory)
    {
        var before = _time.GetUtcNow().UtcDateTime - StaleTaskDirectoryAge;
        foreach (var directory in applicationDirectory.EnumerateDirectories())
        {
            if (!TaskId.TryParse(directory.Name, out var id) || _topology.SubtopologyNamed(id.Subtopology) is not null)
            {
                continue;
            }

            try
            {
                if (LastWrite(directory) < before)
                {
                    Log.StaleTaskDirectoryRemoved(_logger, directory.Name, id.Subtopology);
                    directory.Delete(recursive: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.StaleTaskDirectoryKept(_logger, e, directory.Name);
            }
        }
    }

    private static DateTime LastWrite(DirectoryInfo directory) =>
        directory.EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Select(e => e.LastWriteTimeUtc).Append(directory.LastWriteTimeUtc).Max();

    /// <summary>Stops every thread after it commits and closes its tasks cleanly, then leaves the group.</summary>
    public Task CloseAsync(CancellationToken cancellationToken = default) => StopAsync(commit: true, cancellationToken);

    /// <summary>The stream threads, for tests that look inside them.</summary>
    internal IReadOnlyList<StreamThread> Threads => _threads;

    /// <summary>
    /// Stops every thread WITHOUT committing or checkpointing, as a crash would (the group still sees the members leave).
    /// For failover tests: what was processed since the last commit is redelivered to the next owner.
    /// </summary>
    internal Task AbandonAsync(CancellationToken cancellationToken = default) => StopAsync(commit: false, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
    }

    private Task StopAsync(bool commit, CancellationToken cancellationToken)
    {
        Task<Task>? starting = null;
        Task stop;
        lock (_gate)
        {
            // Close, abandon and dispose may all be called: the first starts the stop, and each waits for that one. A
            // cancelled wait leaves the stop running, so the directory is unlocked once the threads end, and not before.
            if (_stop is null)
            {
                starting = new Task<Task>(() => StopThreadsAsync(commit));
                _stop = starting.Unwrap();
            }

            stop = _stop;
        }

        // Started outside the gate: it raises StateChanged, whose handlers must not run under it.
        starting?.RunSynchronously();
        return stop.WaitAsync(cancellationToken);
    }

    private async Task StopThreadsAsync(bool commit)
    {
        var failed = State == KafkaStreamsState.Error;
        try
        {
            if (_threads.Count > 0)
            {
                Transition(KafkaStreamsState.PendingShutdown);
                foreach (var thread in _threads)
                {
                    thread.RequestShutdown(commit);
                }

                await Task.WhenAll(_threads.Select(t => t.Completion));
                foreach (var thread in _threads)
                {
                    thread.Dispose();
                }
            }
        }
        finally
        {
            // Only now that no thread touches a task directory may another instance have them.
            _stateDirectoryLock?.Dispose();
        }

        Transition(failed || _threads.Any(t => t.Error is not null) ? KafkaStreamsState.Error : KafkaStreamsState.NotRunning);
    }

    private void OnThreadStateChanged()
    {
        lock (_gate)
        {
            if (_state is KafkaStreamsState.PendingShutdown or KafkaStreamsState.NotRunning or KafkaStreamsState.Error or KafkaStreamsState.Created)
            {
                return;
            }
        }

        var states = _threads.Select(t => (t.State, t.Error)).ToList();
        if (states.Any(s => s.Error is not null))
        {
            Transition(KafkaStreamsState.Error);
        }
        else if (states.All(s => s.State == StreamThreadState.Running))
        {
            Transition(KafkaStreamsState.Running);
        }
        else
        {
            Transition(KafkaStreamsState.Rebalancing);
        }
    }

    private void Transition(KafkaStreamsState next)
    {
        KafkaStreamsState previous;
        lock (_gate)
        {
            previous = _state;
            if (previous == next || (previous == KafkaStreamsState.Error && next != KafkaStreamsState.Error))
            {
                return;
            }

            _state = next;
        }

        Log.StreamsState(_logger, _config.ApplicationId, previous, next);
        StateChanged?.Invoke(this, new KafkaStreamsStateChangedEventArgs(previous, next));
    }
}
