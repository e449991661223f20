using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>
/// Keeps a <see cref="NamespaceRegistry"/> in step with the control-plane topic: reads it to its
/// end at start, then follows it, so a change made through any instance reaches every ingress and
/// topology instance without a restart. Definitions are stored as written (not resolved), so a
/// later version's defaults apply to them.
/// </summary>
public sealed partial class ControlPlane : IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly ControlPlaneOptions _options;
    private readonly ILogger _logger;
    // Renewed once librdkafka fails it for good: kept, it refused every later change until the process restarted.
    private readonly RenewingProducer<string, byte[]?> _producer;
    private readonly CancellationTokenSource _stop = new();
    private Task? _follower;
    private long _appliedOffset = -1;
    // The topic's end when it was first read to it: 0 only if nothing was ever written, since
    // offsets keep counting through deletes and compaction.
    private long _endAtLoad = -1;
    // Whether the latest seed marker read says begun: a seed stopped part-way, which the next seed completes.
    private bool _seedUnfinished;
    // Why the follower rejected the records at these offsets, for a PublishAsync waiting on one: a change checked
    // against this registry can still clash once applied, when a change made through another instance came first.
    // Bounded: records others wrote, which nobody here waits for, are forgotten oldest first.
    private readonly ConcurrentDictionary<long, IReadOnlyList<string>> _rejected = new();
    private const int RejectionsKept = 256;
    // Per name, the offset of its latest record (applied or not) and the value, as written, of the latest one applied
    // (null once deleted): what a rejected record's writer republishes (see RestoreLatestAsync).
    private readonly ConcurrentDictionary<string, (long RecordOffset, byte[]? AppliedValue)> _latest = new(StringComparer.Ordinal);

    // Every record goes to partition 0, the one the follower reads, whatever the topic's count: a topic made by other
    // tooling or auto-created may have several, and records keyed by name were spread over them by the partitioner,
    // where none was ever read back (each change timed out as if Kafka did not answer).
    private TopicPartition Partition => new(_options.Topic, 0);

    public ControlPlane(ControlPlaneOptions options, NamespaceRegistry registry, ILogger<ControlPlane>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Registry = registry;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _producer = new RenewingProducer<string, byte[]?>(new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            // A change Kafka has not taken within the options' Timeout fails (the caller hears it may or may not be made),
            // as the wait to apply it does. At librdkafka's default, 5 minutes, a change made while Kafka was away held the
            // ingress's one-at-a-time admin gate that long, and every other change on that instance waited behind it.
            MessageTimeoutMs = (int)Math.Min(options.Timeout.TotalMilliseconds, int.MaxValue),
        }, error => LogProducerError(_logger, error.IsFatal ? LogLevel.Error : LogLevel.Debug, _options.Topic, error.Reason, error.IsFatal));
    }

    public NamespaceRegistry Registry { get; }

    /// <summary>The control-plane topic this instance reads and writes.</summary>
    public string Topic => _options.Topic;

    /// <summary>True once the topic has been read to its end: the registry is complete.</summary>
    public bool IsLoaded { get; private set; }

    /// <summary>Reads the topic to its end, then keeps following it in the background.</summary>
    /// <exception cref="TimeoutException">The topic could not be read to its end in time.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _follower = Task.Factory.StartNew(() => Follow(loaded), _stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await loaded.Task.WaitAsync(_options.Timeout, cancellationToken);
        IsLoaded = true;
        LogLoaded(_logger, Registry.All.Count, _options.Topic);
    }

    /// <summary>
    /// On first start, when nothing was ever written to the topic, publishes <paramref name="seed"/> between two
    /// <see cref="SeedMarker"/> records. Not when the topic holds no definitions because an operator deleted them all:
    /// the seed would bring them back on every restart. When a seed stopped part-way (its marker says begun), completes
    /// it with the definitions whose names the topic has no record of: the others were written by that seed, or changed
    /// or deleted since by an operator.
    /// </summary>
    /// <returns>Whether the seed was published, or completed.</returns>
    /// <exception cref="NamespaceConfigException">The seed is invalid, or a definition it lacks clashes with the topic's.</exception>
    public async Task<bool> SeedIfEmptyAsync(IReadOnlyList<NamespaceConfig> seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seed);
        if (!IsLoaded)
        {
            throw new InvalidOperationException("Start the control plane first: only a topic read to its end shows whether it was ever written.");
        }

        // A first start read nothing at load, nor since: else another instance seeded first, and may have changed the
        // definitions since, which this seed would undo.
        var firstStart = Volatile.Read(ref _endAtLoad) == 0 && Volatile.Read(ref _appliedOffset) < 0;
        if (seed.Count == 0 || !(firstStart || Volatile.Read(ref _seedUnfinished)))
        {
            return false;
        }

        // Validate the whole seed before publishing any of it: as a set, and each it lacks against this topic.
        _ = new NamespaceRegistry(seed);
        var missing = seed.Where(definition => !_latest.ContainsKey(definition.Name)).ToList();
        foreach (var definition in missing)
        {
            Check(definition);
        }

        if (firstStart)
        {
            await PublishAsync(SeedMarker.Key, SeedMarker.Begun);
        }
        else
        {
            LogCompletingSeed(_logger, _options.Topic, missing.Count, string.Join(", ", missing.Select(d => d.Name)));
        }

        foreach (var definition in missing)
        {
            await PutAsync(definition, cancellationToken);
        }

        await PublishAsync(SeedMarker.Key, SeedMarker.Completed);
        return true;
    }

    /// <summary>
    /// The definition as the registry would hold it: defaults applied, validated, and checked
    /// against the other namespaces and the control-plane topic itself.
    /// </summary>
    /// <param name="definition">The definition to check.</param>
    /// <param name="logPartitions">How many partitions its log topic has in Kafka, when read: see <see cref="NamespaceRegistry.CheckUpsert"/>.</param>
    /// <exception cref="NamespaceConfigException">It is invalid or clashes.</exception>
    public NamespaceConfig Check(NamespaceConfig definition, int? logPartitions = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var resolved = Registry.CheckUpsert(definition, logPartitions);
        RefuseControlPlaneTopic(resolved);
        RefuseKafkasOwnTopics(resolved);
        return resolved;
    }

    // Checked for a new definition only, not for one followed from the topic: one written before this check must not
    // vanish from an instance that starts after an upgrade.
    private static void RefuseKafkasOwnTopics(NamespaceConfig resolved) =>
        NamespaceValidator.RefuseTopics(resolved, topic => ReservedTopics.IsKafkas(topic) ? $"'{topic}', one of Kafka's internal topics, which no namespace may use" : null);

    // A namespace logging into this topic would have its writes read as definitions, and
    // compaction would delete every definition whose name matched a write's key.
    private void RefuseControlPlaneTopic(NamespaceConfig resolved) =>
        NamespaceValidator.RefuseTopics(resolved, topic => topic == _options.Topic ? $"'{topic}' is the control-plane topic, where namespace definitions live" : null);

    /// <summary>Publishes a definition and waits until this instance's registry holds it.</summary>
    /// <remarks>
    /// <paramref name="cancellationToken"/> counts only before anything is sent. Once the record is handed to Kafka
    /// the change goes on to be applied here (within <see cref="ControlPlaneOptions.Timeout"/>), whatever the caller
    /// does: a caller whose deadline passed after the record was sent, answered before its own change was applied,
    /// let the next change check a stale registry (a second create of the name passed, an update after a delete
    /// brought the namespace back).
    /// </remarks>
    /// <exception cref="NamespaceConfigException">
    /// The definition is invalid or clashes (see <see cref="Check"/>); nothing was published. Or it was published,
    /// but a change made through another instance that came first made it clash, so no instance applied it.
    /// </exception>
    public Task<NamespaceConfig> PutAsync(NamespaceConfig definition, CancellationToken cancellationToken = default) =>
        PutAsync(definition, null, cancellationToken);

    /// <summary>As <see cref="PutAsync(NamespaceConfig, CancellationToken)"/>, checked with its log's partition count in Kafka (see <see cref="Check"/>).</summary>
    public async Task<NamespaceConfig> PutAsync(NamespaceConfig definition, int? logPartitions, CancellationToken cancellationToken = default)
    {
        var resolved = Check(definition, logPartitions);
        cancellationToken.ThrowIfCancellationRequested();
        await PublishAsync(resolved.Name, definition.ToByteArray());
        return resolved;
    }

    /// <summary>Publishes a tombstone for <paramref name="name"/>; false if there was no such namespace.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!Registry.TryGet(name, out _))
        {
            return false;
        }

        cancellationToken.ThrowIfCancellationRequested();
        await PublishAsync(name, null);
        return true;
    }

    // Not cancellable by the caller (see PutAsync): produced, then read back by this instance's follower.
    private async Task PublishAsync(string name, byte[]? value)
    {
        var result = await _producer.Current.ProduceAsync(Partition, new Message<string, byte[]?> { Key = name, Value = value }, _stop.Token);
        await WaitAppliedAsync(result.Offset, _stop.Token);
        if (_rejected.TryRemove(result.Offset.Value, out var errors))
        {
            await RestoreLatestAsync(name, result.Offset.Value);
            throw new NamespaceConfigException(name, [.. errors.Select(e => $"{e} (written to {_options.Topic} at offset {result.Offset.Value}, "
                + "but a change made through another instance came first, so no instance applied it; check and retry)")]);
        }
    }

    /// <summary>
    /// After a record no instance applied: publishes again what they all serve for <paramref name="name"/> (or a tombstone),
    /// as it was written, not resolved (a later version's defaults apply to it). In a compacted topic the rejected record
    /// is now the name's latest, and once compaction drops the definition before it, an instance starting then finds only
    /// the rejected one: the namespace is gone, or the rejected definition comes back once what it clashed with is deleted.
    /// First this instance reads the topic to its end: a change to the name made through another instance after the
    /// rejected record is the name's latest already, and republishing what this instance served before it would undo
    /// a change its caller was told was made (a deleted namespace came back). Only a change written while this one
    /// is can still be undone, like any two changes through two instances at once.
    /// </summary>
    private async Task RestoreLatestAsync(string name, long rejectedOffset)
    {
        await WaitAppliedAsync(new Offset(TopicEnd() - 1), _stop.Token);
        if (_latest.TryGetValue(name, out var latest) && latest.RecordOffset > rejectedOffset)
        {
            return;
        }

        var serving = latest.AppliedValue;
        var result = await _producer.Current.ProduceAsync(Partition, new Message<string, byte[]?> { Key = name, Value = serving }, _stop.Token);
        await WaitAppliedAsync(result.Offset, _stop.Token);
        _rejected.TryRemove(result.Offset.Value, out _);
    }

    private long TopicEnd()
    {
        using var consumer = new ConsumerBuilder<string, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = _options.BootstrapServers,
            GroupId = $"wal-control-plane-{Guid.NewGuid():N}",
        }).Build();
        return consumer.QueryWatermarkOffsets(Partition, _options.Timeout).High.Value;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_follower is not null)
        {
            try
            {
                await _follower;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _producer.Dispose();
        _stop.Dispose();
    }

    private async Task WaitAppliedAsync(Offset offset, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.Timeout.TotalSeconds * Stopwatch.Frequency);
        while (Volatile.Read(ref _appliedOffset) < offset.Value)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"The change was written to {_options.Topic} at offset {offset.Value} but not read back within {_options.Timeout}.");
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    private void Follow(TaskCompletionSource loaded)
    {
        using var consumer = new ConsumerBuilder<string, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = _options.BootstrapServers,
            // Every instance reads every definition: no group membership, no committed offsets.
            GroupId = $"wal-control-plane-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(Partition, Offset.Beginning));
        var backoff = FirstBackoff;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                FollowOne(consumer, loaded);
                backoff = FirstBackoff;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (!loaded.Task.IsCompleted)
                {
                    // At start the caller is waiting: fail it loudly rather than retry unseen.
                    LogFollowFailed(_logger, _options.Topic, e.Message);
                    loaded.TrySetException(e);
                    throw;
                }

                // Once loaded, this instance keeps serving the definitions it has and retries:
                // a follower that stopped would leave every later change unseen until a restart.
                LogFollowRetrying(_logger, e, _options.Topic, backoff);
                _stop.Token.WaitHandle.WaitOne(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    // Reads one record, or the end of the topic, and applies it.
    private void FollowOne(IConsumer<string, byte[]?> consumer, TaskCompletionSource loaded)
    {
        var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
        if (result is null)
        {
            return;
        }

        if (result.IsPartitionEOF)
        {
            Volatile.Write(ref _appliedOffset, result.Offset.Value - 1);
            if (Volatile.Read(ref _endAtLoad) < 0)
            {
                Volatile.Write(ref _endAtLoad, result.Offset.Value);
            }

            loaded.TrySetResult();
            return;
        }

        var key = result.Message.Key;
        if (key is null)
        {
            // Written around Wal (a console producer sends no key unless told to), on a topic that is not compacted or a
            // broker that takes it: it names no namespace to define or delete. Skipped, not applied: the registry and the
            // per-name bookkeeping are keyed by name, and the exception they threw stopped every instance's start.
            LogKeyless(_logger, _options.Topic, result.Offset.Value);
        }
        else if (key == SeedMarker.Key)
        {
            Volatile.Write(ref _seedUnfinished, SeedMarker.IsBegun(result.Message.Value));
        }
        else if (Apply(key, result.Message.Value) is { } errors)
        {
            RememberRejection(result.Offset.Value, errors);
            _latest[key] = (result.Offset.Value, _latest.TryGetValue(key, out var kept) ? kept.AppliedValue : null);
        }
        else
        {
            _latest[key] = (result.Offset.Value, result.Message.Value);
        }

        Volatile.Write(ref _appliedOffset, result.Offset.Value);
    }

    private void RememberRejection(long offset, IReadOnlyList<string> errors)
    {
        _rejected[offset] = errors;
        if (_rejected.Count > RejectionsKept)
        {
            foreach (var old in _rejected.Keys.Order().Take(_rejected.Count - RejectionsKept))
            {
                _rejected.TryRemove(old, out _);
            }
        }
    }

    // Null when applied; else why the record was rejected.
    private IReadOnlyList<string>? Apply(string name, byte[]? value)
    {
        if (value is null)
        {
            Registry.Remove(name);
            LogRemoved(_logger, name);
            return null;
        }

        try
        {
            // Upsert checks it against the other namespaces; only the control-plane topic is left.
            var definition = NamespaceConfig.Parser.ParseFrom(value);
            if (definition.Name != name)
            {
                // Applied, it would define the namespace its value names, which a delete by key never reaches (that
                // removes the key's namespace), and a compaction could drop the key's record under it and bring it back.
                LogKeyMismatch(_logger, name, definition.Name, _options.Topic);
                return [$"name: the record's key '{name}' and its definition's name '{definition.Name}' differ; "
                    + "a definition is keyed by the name it defines"];
            }

            RefuseControlPlaneTopic(NamespaceDefaults.Resolve(definition));
            Registry.Upsert(definition);
            LogApplied(_logger, name);
            return null;
        }
        catch (NamespaceConfigException e)
        {
            // Keep serving the previous definition: one bad record must not take a namespace down.
            LogRejected(_logger, name, e.Message);
            return e.Errors;
        }
        catch (InvalidProtocolBufferException e)
        {
            LogRejected(_logger, name, e.Message);
            return [$"the record is not a NamespaceConfig: {e.Message}"];
        }
    }

    [LoggerMessage(Message = "The producer of {Topic} reports: {Reason} (fatal: {Fatal}; after a fatal error the next change is written through a new producer)")]
    private static partial void LogProducerError(ILogger logger, LogLevel level, string topic, string reason, bool fatal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} namespace(s) from {Topic}")]
    private static partial void LogLoaded(ILogger logger, int count, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The seed of {Topic} stopped part-way before; completing it with {Count} namespace(s) it has no record of: {Names}")]
    private static partial void LogCompletingSeed(ILogger logger, string topic, int count, string names);

    [LoggerMessage(Level = LogLevel.Information, Message = "Namespace {Name} updated")]
    private static partial void LogApplied(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Namespace {Name} removed")]
    private static partial void LogRemoved(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rejected a definition of namespace {Name}; keeping the previous one: {Error}")]
    private static partial void LogRejected(ILogger logger, string name, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rejected a record of {Topic} keyed '{Key}' that defines namespace '{DefinedName}': "
        + "a definition must be keyed by its name; keeping what both names had")]
    private static partial void LogKeyMismatch(ILogger logger, string key, string definedName, string topic);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rejected the record of {Topic} at offset {Offset}: it has no key, and a definition "
        + "or a delete is keyed by the namespace's name; nothing was changed")]
    private static partial void LogKeyless(ILogger logger, string topic, long offset);

    [LoggerMessage(Level = LogLevel.Error, Message = "Following {Topic} failed; keeping the definitions loaded so far and retrying in {Backoff}")]
    private static partial void LogFollowRetrying(ILogger logger, Exception exception, string topic, TimeSpan backoff);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopped following {Topic}: {Error}")]
    private static partial void LogFollowFailed(ILogger logger, string topic, string error);
}
