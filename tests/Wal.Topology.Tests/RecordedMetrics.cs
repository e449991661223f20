using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Wal.Topology.Tests;

/// <summary>
/// A <see cref="TopologyMetrics"/> on a meter of its own, and every measurement its instruments take. The listener
/// picks the meter by its scope, so tests running beside it in the process, on the shared meter, are not heard.
/// </summary>
internal sealed class RecordedMetrics : IMeterFactory
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Name, double Value, Dictionary<string, string?> Tags)> _measurements = new();
    private readonly List<Meter> _meters = [];

    public RecordedMetrics()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, this))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Note(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Note(instrument, value, tags));
        _listener.Start();
        Metrics = new TopologyMetrics(this);
    }

    public TopologyMetrics Metrics { get; }

    /// <summary>The sum of <paramref name="instrument"/>'s measurements whose tags include all of <paramref name="tags"/>.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags) =>
        Matching(instrument, tags).Sum(m => m.Value);

    /// <summary>The values <paramref name="instrument"/> recorded under <paramref name="tags"/>, in order.</summary>
    public List<double> Values(string instrument, params (string Key, string Value)[] tags) =>
        [.. Matching(instrument, tags).Select(m => m.Value)];

    /// <summary>Every distinct tag set <paramref name="instrument"/> was measured with, as "key=value,..." in key order.</summary>
    public List<string> TagSets(string instrument) =>
        [.. _measurements.Where(m => m.Name == instrument)
            .Select(m => string.Join(",", m.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")))
            .Distinct()];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        _listener.Dispose();
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }

    private IEnumerable<(string Name, double Value, Dictionary<string, string?> Tags)> Matching(string instrument, (string Key, string Value)[] tags) =>
        _measurements.Where(m => m.Name == instrument && tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && v == t.Value));

    private void Note(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }
}
