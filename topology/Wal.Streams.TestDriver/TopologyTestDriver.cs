using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Streams.Internals;
using Wal.Streams.State;

namespace Wal.Streams.TestDriver;

/// <summary>
/// Runs a topology without a broker, as Kafka Streams' <c>TopologyTestDriver</c>: one task per sub-topology (partition 0),
/// records piped in through <see cref="TestInputTopic{TKey, TValue}"/>, outputs read through <see cref="TestOutputTopic{TKey, TValue}"/>,
/// stores inspected by name, and a manual wall clock.
/// </summary>
/// <remarks>
/// Each piped record is processed at once, then stream-time punctuators due are fired, then the task commits. The
/// runtime processes records in batches and fires stream-time punctuators after each batch, so where the driver fires
/// once per interval crossed, a batch spanning several intervals fires once (as in Kafka Streams, whose driver differs
/// from its runtime the same way). Wall-clock punctuators fire only in <see cref="AdvanceWallClockTime"/>, with Kafka
/// Streams' semantics: absolute fire times, the first at registration + interval, and several missed intervals fire
/// once. Records written to a topic that the topology itself reads are piped back in. What a topology writes is copied
/// when written, as the producer copies it, and a record is read with headers of its own, as a consumer reads it; a
/// record written with timestamp 0 gets the wall-clock time, as librdkafka stamps it. A record larger than the producer's
/// <c>message.max.bytes</c> (from the config's producer or client settings, else librdkafka's 1,000,000) fails as the
/// runtime's producer fails it. Stores live in
/// <c>{StateDirectory}/{ApplicationId}</c>, locked as a running instance locks it (a second driver or instance on it is
/// refused with <see cref="StateDirectoryLockedException"/>) and deleted on dispose (a temporary state directory unless a
/// config is given).
/// Where the runtime would stop a thread, the driver goes on: a processor that throws leaves its writes in the stores and
/// its forwarded records in the outputs, and the record is not retried; every topic exists, and has one partition.
/// </remarks>
public sealed class TopologyTestDriver : IDisposable
{
    private readonly ManualClock _clock;
    private readonly CapturingCollector _collector;
    private readonly Dictionary<string, StreamTask> _taskByTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _nextOffset = new(StringComparer.Ordinal);
    private readonly List<StreamTask> _tasks = [];
    private readonly string? _ownedStateDirectory;
    private readonly string _applicationDirectory;
    private readonly StateDirectoryLock _stateDirectoryLock;
    private bool _disposed;

    /// <param name="topology">The topology to run.</param>
    /// <param name="config">Application id, state directory and handlers; defaults to application id <c>test-driver</c> in a temporary directory.</param>
    /// <param name="initialWallClockTime">The manual clock's start; defaults to now.</param>
    public TopologyTestDriver(Topology topology, StreamsConfig? config = null, DateTimeOffset? initialWallClockTime = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (config is null)
        {
            _ownedStateDirectory = Path.Combine(Path.GetTempPath(), "wal-streams-driver-" + Guid.NewGuid().ToString("N"));
            config = new StreamsConfig { ApplicationId = "test-driver", BootstrapServers = "test-driver:9092", StateDirectory = _ownedStateDirectory };
        }

        config.Validate();
        Config = config;
        _applicationDirectory = config.ApplicationDirectory;
        _clock = new ManualClock(initialWallClockTime ?? DateTimeOffset.UtcNow);
        _collector = new CapturingCollector(topology.SourceTopics.ToHashSet(StringComparer.Ordinal), _clock, ProducerSizeLimit.For(config));
        // The runtime's lock, held as long as the driver: a driver given the directory of a running instance (or of
        // another live driver) would write into its task directories, and its dispose would delete them all. Taken
        // last before the try that gives it back: a failure between the two kept it for the life of the process.
        Directory.CreateDirectory(_applicationDirectory);
        _stateDirectoryLock = StateDirectoryLock.Acquire(_applicationDirectory);
        try
        {
            foreach (var subtopology in topology.Subtopologies)
            {
                var inputs = subtopology.SourceTopics.Select(t => new TopicPartition(t, 0)).ToHashSet();
                var task = new StreamTask(new TaskId(subtopology.Name, 0), subtopology, inputs, config, _clock, _collector, NullLogger.Instance);
                foreach (var input in inputs)
                {
                    task.InputAtEnd(new TopicPartitionOffset(input, 0));
                }

                _tasks.Add(task);
                foreach (var topic in subtopology.SourceTopics)
                {
                    _taskByTopic[topic] = task;
                }
            }

            foreach (var task in _tasks)
            {
                task.InitializeTopology();
            }
        }
        catch
        {
            // The caller gets no driver to dispose: what was opened (stores holding RocksDB locks) is closed here. The
            // state stays unless this driver made its directory: a caller's may hold stores kept for a later driver.
            CloseTasks(clean: false, deleteState: _ownedStateDirectory is not null);
            _stateDirectoryLock.Dispose();
            throw;
        }
    }

    public StreamsConfig Config { get; }

    /// <summary>The driver's wall-clock time.</summary>
    public DateTimeOffset WallClockTime => _clock.GetUtcNow();

    /// <summary>Every topic the topology has written to so far (sinks, changelogs, dead letters); an output topic made only to be read is not one.</summary>
    public IReadOnlyCollection<string> ProducedTopicNames => _collector.Topics.ToList();

    public TestInputTopic<TKey, TValue> CreateInputTopic<TKey, TValue>(
        string topic,
        ISerializer<TKey> keySerializer,
        ISerializer<TValue> valueSerializer,
        DateTimeOffset? startTimestamp = null,
        TimeSpan autoAdvance = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(keySerializer);
        ArgumentNullException.ThrowIfNull(valueSerializer);
        return new TestInputTopic<TKey, TValue>(this, topic, keySerializer, valueSerializer, startTimestamp ?? WallClockTime, autoAdvance);
    }

    public TestOutputTopic<TKey, TValue> CreateOutputTopic<TKey, TValue>(string topic, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(keyDeserializer);
        ArgumentNullException.ThrowIfNull(valueDeserializer);
        return new TestOutputTopic<TKey, TValue>(_collector.Output(topic), topic, keyDeserializer, valueDeserializer);
    }

    /// <summary>The key-value store named <paramref name="name"/> (writes through it are logged like a processor's).</summary>
    public IKeyValueStore GetKeyValueStore(string name) =>
        GetStateStore(name) as IKeyValueStore ?? throw new InvalidOperationException($"Store '{name}' is not a key-value store.");

    public IStateStore GetStateStore(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var task in _tasks)
        {
            if (task.Context.Stores.TryGetValue(name, out var store))
            {
                return store;
            }
        }

        throw new InvalidOperationException($"The topology has no store named '{name}'.");
    }

    /// <summary>Moves the wall clock forward and fires the wall-clock punctuators now due (each at most once), then commits.</summary>
    public void AdvanceWallClockTime(TimeSpan advance) =>
        SyncBridge.Complete(AdvanceWallClockTimeAsync(advance), nameof(AdvanceWallClockTimeAsync));

    /// <inheritdoc cref="AdvanceWallClockTime"/>
    public async ValueTask AdvanceWallClockTimeAsync(TimeSpan advance, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        _clock.Advance(advance);
        foreach (var task in _tasks)
        {
            await task.MaybePunctuateWallClockAsync();
            Commit(task);
        }

        await DrainInternalAsync(cancellationToken);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var failure = CloseTasks(clean: true, deleteState: true);
        _stateDirectoryLock.Dispose();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    // Every task is closed and the state deleted even when one task fails to close, as Kafka Streams' driver cleans
    // its state directory: left behind, a later driver with the same application id would start from these stores.
    private Exception? CloseTasks(bool clean, bool deleteState)
    {
        Exception? first = null;
        foreach (var task in _tasks)
        {
            try
            {
                task.Close(clean, writeCheckpoint: false);
            }
            catch (Exception e)
            {
                first ??= e;
            }
        }

        var directory = _ownedStateDirectory ?? _applicationDirectory;
        if (deleteState && Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        return first;
    }

    internal async ValueTask PipeAsync(string topic, byte[]? key, byte[]? value, Headers headers, long timestamp, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        await PipeOneAsync(topic, key, value, headers, timestamp);
        await DrainInternalAsync(cancellationToken);
    }

    private async ValueTask PipeOneAsync(string topic, byte[]? key, byte[]? value, Headers headers, long timestamp)
    {
        if (!_taskByTopic.TryGetValue(topic, out var task))
        {
            throw new InvalidOperationException($"Unknown topic '{topic}': no source of the topology reads it.");
        }

        var offset = _nextOffset.GetValueOrDefault(topic);
        _nextOffset[topic] = offset + 1;
        task.AddRecord(new ConsumeResult<byte[], byte[]>
        {
            Topic = topic,
            Partition = 0,
            Offset = offset,
            // Headers of its own, as a consumer reads them: a processor adding one must not change the record it came from.
            Message = new Message<byte[], byte[]> { Key = key!, Value = value!, Headers = Copy(headers), Timestamp = new Timestamp(timestamp, TimestampType.CreateTime) },
        });
        // Nothing else is waiting: the record is all the input there is (IProcessorContext.InputCaughtUp).
        task.InputAtEnd(new TopicPartitionOffset(topic, 0, offset + 1));
        await task.ProcessAsync(int.MaxValue, TimeSpan.MaxValue);
        await task.MaybePunctuateStreamTimeAsync();
        Commit(task);
    }

    private async ValueTask DrainInternalAsync(CancellationToken cancellationToken)
    {
        while (_collector.Internal.TryDequeue(out var next))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await PipeOneAsync(next.Topic, next.Record.Key, next.Record.Value, next.Record.Headers, next.Record.Timestamp);
        }
    }

    internal static Headers Copy(Headers headers)
    {
        var copy = new Headers();
        foreach (var header in headers)
        {
            copy.Add(header.Key, header.GetValueBytes()?.ToArray());
        }

        return copy;
    }

    private static void Commit(StreamTask task)
    {
        task.FlushStores();
        task.PostCommit(writeCheckpoint: false);
    }
}
