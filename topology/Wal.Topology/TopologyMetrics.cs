using System.Diagnostics.Metrics;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;

namespace Wal.Topology;

/// <summary>
/// The WAL processors' instruments, on System.Diagnostics.Metrics (meter <c>Wal.Topology</c>; docs/metrics.md lists them).
/// Every tag value comes from a bounded set: namespace names from the registry the topology was built from, region
/// names from the replication plan, and the sink kinds, outcomes and dead-letter reasons below. Never an error text or
/// an id, so a flood of bad records cannot grow the series.
/// </summary>
/// <remarks>
/// The tags are passed as <see cref="KeyValuePair{TKey, TValue}"/> arguments, up to three, which the instruments take
/// without allocating; the values are strings the caller already holds, so nothing is boxed per record.
/// </remarks>
public sealed class TopologyMetrics : IDisposable
{
    public const string MeterName = "Wal.Topology";

    public const string NamespaceTag = "namespace";
    public const string SinkTag = "sink";
    public const string OutcomeTag = "outcome";
    public const string ReasonTag = "reason";
    public const string RegionTag = "region";

    private static readonly double[] SecondsBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly Meter _meter;
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _deliveryLatency;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _timersScheduled;
    private readonly Counter<long> _timersFired;
    private readonly Histogram<double> _timerLateness;
    private readonly Counter<long> _waitedForKey;
    private readonly Counter<long> _mutationsAssembled;
    private readonly Counter<long> _mutationsExpired;
    private readonly Counter<long> _latePieces;
    private readonly Counter<long> _replicated;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _expiredUnread;

    /// <param name="meterFactory">The host's factory, so each host has its own meter; a new meter without one.</param>
    public TopologyMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _deliveries = _meter.CreateCounter<long>(
            "wal.topology.deliveries", "{delivery}", "Delivery attempts of log entries, a mutation's chunks each included, by namespace, sink kind and outcome (delivered, superseded, retried, dead_lettered).");
        _deliveryLatency = _meter.CreateHistogram<double>(
            "wal.topology.delivery.latency", "s", "Time from an attempt's due time (the entry's, a mutation's completion, or a retry's) to the sink's answer, by namespace and sink kind.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _deadLetters = _meter.CreateCounter<long>(
            "wal.topology.dead_letters", "{record}", "Records given up to a dead-letter topic, by namespace and reason (permanent, retriable, expired, late, beyond_count).");
        _timersScheduled = _meter.CreateCounter<long>(
            "wal.topology.timers.scheduled", "{timer}", "Delay-queue timers put: entries not yet due, and retries waiting for their backoff.");
        _timersFired = _meter.CreateCounter<long>(
            "wal.topology.timers.fired", "{timer}", "Delay-queue timers taken from the store once due.");
        _timerLateness = _meter.CreateHistogram<double>(
            "wal.topology.timers.lateness", "s", "How long after its due time a delay-queue timer fired: how far behind the delay queue is.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _waitedForKey = _meter.CreateCounter<long>(
            "wal.topology.timers.waited_for_key", "{entry}", "Entries of a Kafka record key that waited behind an earlier entry of the key being retried.");
        _mutationsAssembled = _meter.CreateCounter<long>(
            "wal.topology.mutations.assembled", "{mutation}", "Multi-table mutations found complete (marker and every chunk in) and handed to their apply.");
        _mutationsExpired = _meter.CreateCounter<long>(
            "wal.topology.mutations.expired", "{mutation}", "Mutations still incomplete at the namespace's mutation_expiry, dead-lettered.");
        _latePieces = _meter.CreateCounter<long>(
            "wal.topology.mutations.late_pieces", "{piece}", "Chunks or markers that came after their mutation was dead-lettered, dead-lettered on their own.");
        _replicated = _meter.CreateCounter<long>(
            "wal.topology.replication.records", "{record}", "Records the remote region acknowledged, by namespace and remote region (re-sends included).");
        _refused = _meter.CreateCounter<long>(
            "wal.topology.replication.refused", "{record}", "Records the remote region refused for good, dead-lettered here, by namespace and remote region.");
        _expiredUnread = _meter.CreateCounter<long>(
            "wal.topology.replication.expired_unread", "{offset}",
            "Offsets of the local topic its retention removed before the replicator read them, by namespace and remote region: those that originated here never reached that region.");
    }

    /// <summary>
    /// The instruments of a host that has no <see cref="IMeterFactory"/> (the topology command has no dependency
    /// injection): one static meter per process, as the streams engine's own.
    /// </summary>
    public static TopologyMetrics Shared { get; } = new();

    /// <summary>
    /// One attempt to deliver an entry, by dispatch, or a mutation chunk, by a mutation's apply, answered
    /// <paramref name="outcome"/> at <paramref name="answeredAtMs"/>; <paramref name="dueAtMs"/> is when the attempt was due:
    /// the entry's due time, the moment its mutation was found complete, or its retry's due time.
    /// </summary>
    public void Attempted(string @namespace, Target.DestinationOneofCase sink, DeliveryAttemptOutcome outcome, long dueAtMs, long answeredAtMs)
    {
        var ns = new KeyValuePair<string, object?>(NamespaceTag, @namespace);
        var kind = new KeyValuePair<string, object?>(SinkTag, SinkKind(sink));
        _deliveries.Add(1, ns, kind, new(OutcomeTag, OutcomeName(outcome)));
        _deliveryLatency.Record(Math.Max(0, answeredAtMs - dueAtMs) / 1000.0, ns, kind);
    }

    /// <summary>A record went to a dead-letter topic; <paramref name="reason"/> is its <c>wal.reason</c>, one of <see cref="DeadLetterReasons"/>.</summary>
    public void DeadLettered(string @namespace, string reason) =>
        _deadLetters.Add(1, new(NamespaceTag, @namespace), new(ReasonTag, reason));

    public void TimerScheduled(string @namespace) => _timersScheduled.Add(1, new KeyValuePair<string, object?>(NamespaceTag, @namespace));

    public void TimerFired(string @namespace, long dueAtMs, long firedAtMs)
    {
        var ns = new KeyValuePair<string, object?>(NamespaceTag, @namespace);
        _timersFired.Add(1, ns);
        _timerLateness.Record(Math.Max(0, firedAtMs - dueAtMs) / 1000.0, ns);
    }

    public void WaitedForKey(string @namespace) => _waitedForKey.Add(1, new KeyValuePair<string, object?>(NamespaceTag, @namespace));

    public void MutationAssembled(string @namespace) => _mutationsAssembled.Add(1, new KeyValuePair<string, object?>(NamespaceTag, @namespace));

    public void MutationExpired(string @namespace) => _mutationsExpired.Add(1, new KeyValuePair<string, object?>(NamespaceTag, @namespace));

    public void LatePiece(string @namespace) => _latePieces.Add(1, new KeyValuePair<string, object?>(NamespaceTag, @namespace));

    public void Replicated(string @namespace, string remoteRegion) =>
        _replicated.Add(1, new(NamespaceTag, @namespace), new(RegionTag, remoteRegion));

    public void Refused(string @namespace, string remoteRegion) =>
        _refused.Add(1, new(NamespaceTag, @namespace), new(RegionTag, remoteRegion));

    public void ExpiredUnread(string @namespace, string remoteRegion, long offsets) =>
        _expiredUnread.Add(offsets, new(NamespaceTag, @namespace), new(RegionTag, remoteRegion));

    /// <summary>
    /// Whether <paramref name="instrument"/> is one of these instruments, not another instance's of the same meter name:
    /// an exporter of one instance in a process that runs several (<c>wal up --regions 2</c>) must count its own alone.
    /// </summary>
    public bool Owns(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        return ReferenceEquals(instrument.Meter, _meter);
    }

    public void Dispose() => _meter.Dispose();

    private static string SinkKind(Target.DestinationOneofCase sink) => sink switch
    {
        Target.DestinationOneofCase.Kafka => "kafka",
        Target.DestinationOneofCase.Memcached => "memcached",
        Target.DestinationOneofCase.Cassandra => "cassandra",
        Target.DestinationOneofCase.Upstream => "upstream",
        _ => "none",
    };

    private static string OutcomeName(DeliveryAttemptOutcome outcome) => outcome switch
    {
        DeliveryAttemptOutcome.Delivered => "delivered",
        DeliveryAttemptOutcome.Superseded => "superseded",
        DeliveryAttemptOutcome.Retried => "retried",
        _ => "dead_lettered",
    };
}
