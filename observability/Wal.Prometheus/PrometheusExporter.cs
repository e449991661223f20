using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Wal.Prometheus;

/// <summary>
/// Listens to System.Diagnostics.Metrics instruments and renders them in the Prometheus text
/// exposition format (version 0.0.4): counters as <c>_total</c>, up-down counters as gauges,
/// histograms as cumulative <c>_bucket</c>/<c>_sum</c>/<c>_count</c>, units as name suffixes.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] DefaultBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private long _collection;

    /// <param name="include">Which instruments to export, e.g. by meter name and scope.</param>
    public PrometheusExporter(Func<Instrument, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument) && IsSupported(instrument))
            {
                var state = new InstrumentState(this, instrument, BoundsOf(instrument));
                _instruments[instrument] = state;
                // The state rides along with every measurement: no lookup by instrument per call.
                listener.EnableMeasurementEvents(instrument, state);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _);
        // Every number type an instrument may use but float and the small ones: an instrument of a type with no
        // callback here would be published, enabled and then never heard from, with nothing to say why.
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Measure(value, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Measure(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Measure(value, tags));
        _listener.Start();
    }

    /// <summary>Every exported series now, in the text format.</summary>
    public string Render()
    {
        // Observable instruments report only when asked: their callbacks run here.
        var collection = Interlocked.Increment(ref _collection);
        var text = new StringBuilder();
        try
        {
            _listener.RecordObservableInstruments();
        }
        catch (AggregateException failed)
        {
            // The listener runs every callback before it throws what some of them threw: one broken callback must not
            // fail the scrape and take every other series with it. A level not observed now is left out below, and
            // comment lines, which scrapers ignore, say why to whoever reads the page.
            foreach (var error in failed.InnerExceptions)
            {
                text.Append("# Failed to observe: ").Append(error.GetType().Name).Append(": ")
                    .Append(error.Message.ReplaceLineEndings(" ")).Append('\n');
            }
        }

        foreach (var state in _instruments.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            state.Render(text, collection);
        }

        return text.ToString();
    }

    /// <summary>
    /// Drops every series whose <paramref name="tag"/> has a value <paramref name="gone"/> accepts, e.g. the series
    /// of a deleted namespace: without it they would be kept, and exported, for the life of the process.
    /// </summary>
    public void Forget(string tag, Func<string, bool> gone)
    {
        foreach (var state in _instruments.Values)
        {
            state.Forget(tag, gone);
        }
    }

    public void Dispose() => _listener.Dispose();

    private static bool IsSupported(Instrument instrument) =>
        instrument is Counter<int> or Counter<long> or Counter<double> or UpDownCounter<int> or UpDownCounter<long> or UpDownCounter<double>
            or Histogram<int> or Histogram<long> or Histogram<double>
            || IsObservedLevel(instrument);

    // Instruments whose measurement is the current value itself, taken at collection time (an
    // observable counter's is its running total).
    private static bool IsObservedLevel(Instrument instrument) =>
        instrument is ObservableUpDownCounter<int> or ObservableUpDownCounter<long> or ObservableUpDownCounter<double>
            or ObservableGauge<int> or ObservableGauge<long> or ObservableGauge<double>
            or ObservableCounter<int> or ObservableCounter<long> or ObservableCounter<double>;

    private static double[]? BoundsOf(Instrument instrument) => instrument switch
    {
        Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBounds,
        Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray() ?? DefaultBounds,
        Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray() ?? DefaultBounds,
        _ => null,
    };

    private sealed class InstrumentState(PrometheusExporter exporter, Instrument instrument, double[]? bounds)
    {
        private const int MaxCachedKeys = 4096;

        private readonly ConcurrentDictionary<string, PrometheusSeries> _series = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<SeriesKey, KeyedSeries> _byKey = new(SeriesKey.ByInstance);
        private int _cachedKeys;

        // The cached key the last measurement matched. An instrument's measurements mostly repeat one tag set (a
        // namespace's writes, one after another), and comparing a few references skips the hash and the lookup,
        // which were most of a measurement's cost (about 50 ns of 75 on a counter with two tags).
        private KeyedSeries? _last;
        private readonly bool _observedLevel = IsObservedLevel(instrument);
        private readonly string _type = instrument switch
        {
            _ when PrometheusNames.IsCounter(instrument) => "counter",
            _ when bounds is null => "gauge",
            _ => "histogram",
        };

        // The text format's family name is the sample name: counters carry _total in both.
        public string Name { get; } = PrometheusNames.For(instrument);

        public void Measure(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags);
            if (_observedLevel)
            {
                series.Set(value, Volatile.Read(ref exporter._collection));
            }
            else if (bounds is null)
            {
                series.Add(value);
            }
            else
            {
                series.Record(value);
            }
        }

        public void Render(StringBuilder text, long collection)
        {
            text.Append("# HELP ").Append(Name).Append(' ').Append(PrometheusNames.EscapeHelp(instrument.Description ?? instrument.Name)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(_type).Append('\n');
            foreach (var series in _series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal))
            {
                // A level its callback no longer reports (a store whose tasks left this process) is gone, not
                // still at its last value: kept, it was exported for the life of the process as if current.
                if (_observedLevel && series.ObservedIn < collection)
                {
                    continue;
                }

                var (sum, count, buckets) = series.Snapshot();
                if (bounds is null)
                {
                    Sample(text, Name, series.Labels, sum);
                    continue;
                }

                long cumulative = 0;
                for (var i = 0; i < bounds.Length; i++)
                {
                    cumulative += buckets[i];
                    Sample(text, Name + "_bucket", Join(series.Labels, $"le=\"{Number(bounds[i])}\""), cumulative);
                }

                Sample(text, Name + "_bucket", Join(series.Labels, "le=\"+Inf\""), count);
                Sample(text, Name + "_sum", series.Labels, sum);
                Sample(text, Name + "_count", series.Labels, count);
            }
        }

        public void Forget(string tag, Func<string, bool> gone)
        {
            foreach (var (labels, series) in _series)
            {
                if (series.Tags.TryGetValue(tag, out var value) && gone(value))
                {
                    series.Forget();
                    _series.TryRemove(KeyValuePair.Create(labels, series));
                }
            }

            foreach (var (key, cached) in _byKey)
            {
                if (cached.Series.Tags.TryGetValue(tag, out var value) && gone(value) && _byKey.TryRemove(KeyValuePair.Create(key, cached)))
                {
                    Interlocked.Decrement(ref _cachedKeys);
                }
            }
        }

        // Hot path: up to three tags are looked up by their values without building a string.
        private PrometheusSeries Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length > 3)
            {
                return BySet(tags);
            }

            KeyValuePair<string, object?> a = tags.Length > 0 ? tags[0] : default, b = tags.Length > 1 ? tags[1] : default, c = tags.Length > 2 ? tags[2] : default;
            var key = new SeriesKey(a.Key, a.Value, b.Key, b.Value, c.Key, c.Value);
            if (_last is { } last && !last.Series.IsForgotten && SeriesKey.ByInstance.Equals(last.Key, key))
            {
                return last.Series;
            }

            if (_byKey.TryGetValue(key, out var found))
            {
                if (!found.Series.IsForgotten)
                {
                    _last = found;
                    return found.Series;
                }

                // A measurement that found the series just before Forget dropped it cached its key afterwards: left,
                // every later measurement with these tags counted in the dropped series until the next Forget.
                if (_byKey.TryRemove(KeyValuePair.Create(key, found)))
                {
                    Interlocked.Decrement(ref _cachedKeys);
                }
            }

            var series = BySet(tags);
            // Tags made afresh per call (a formatted string, a boxed number) would each be a new
            // key: past the cap they take the label-set path every time instead of growing the cache.
            if (Interlocked.Increment(ref _cachedKeys) <= MaxCachedKeys)
            {
                _byKey.TryAdd(key, new KeyedSeries(key, series));
            }

            return series;
        }

        // One series per label set, however the tags were ordered at the call site.
        private PrometheusSeries BySet(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = PrometheusNames.Labels(tags);
            return _series.TryGetValue(labels, out var found) ? found : _series.GetOrAdd(labels, new PrometheusSeries(labels, TagValues(tags), bounds));
        }

        private static Dictionary<string, string> TagValues(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var values = new Dictionary<string, string>(tags.Length, StringComparer.Ordinal);
            foreach (var (key, value) in tags)
            {
                values[key] = value?.ToString() ?? string.Empty;
            }

            return values;
        }

        private static string Join(string labels, string extra) => labels.Length == 0 ? extra : $"{labels},{extra}";

        private static void Sample(StringBuilder text, string name, string labels, double value)
        {
            text.Append(name);
            if (labels.Length > 0)
            {
                text.Append('{').Append(labels).Append('}');
            }

            text.Append(' ').Append(Number(value)).Append('\n');
        }

        private static string Number(double value) => value switch
        {
            double.PositiveInfinity => "+Inf",
            double.NegativeInfinity => "-Inf",
            _ => value.ToString("R", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>A cached key with its series, made once when the key is cached, so remembering the last match allocates nothing.</summary>
    private sealed record KeyedSeries(SeriesKey Key, PrometheusSeries Series);

    /// <summary>
    /// Up to three tags as plain fields (KeyValuePair has no IEquatable, so comparing it would box).
    /// Compared by <see cref="ByInstance"/>: tag names and string values at a call site are almost
    /// always the same instances (literals, a namespace's configured name), so they are hashed and
    /// compared by reference rather than by their text on every measurement. Equal text in another
    /// instance is only a cache miss: it reaches the same series through the label set.
    /// </summary>
    private readonly record struct SeriesKey(string? Name1, object? Value1, string? Name2, object? Value2, string? Name3, object? Value3)
    {
        public static readonly IEqualityComparer<SeriesKey> ByInstance = new InstanceComparer();

        private sealed class InstanceComparer : IEqualityComparer<SeriesKey>
        {
            public bool Equals(SeriesKey x, SeriesKey y) =>
                ReferenceEquals(x.Name1, y.Name1) && ReferenceEquals(x.Name2, y.Name2) && ReferenceEquals(x.Name3, y.Name3)
                && Same(x.Value1, y.Value1) && Same(x.Value2, y.Value2) && Same(x.Value3, y.Value3);

            public int GetHashCode(SeriesKey key) =>
                HashCode.Combine(RuntimeHelpers.GetHashCode(key.Name1), Hash(key.Value1), RuntimeHelpers.GetHashCode(key.Name2), Hash(key.Value2), RuntimeHelpers.GetHashCode(key.Name3), Hash(key.Value3));

            // Strings by instance; anything else (a boxed number) by value, as its box is new each time.
            private static bool Same(object? a, object? b) => a is string || b is string ? ReferenceEquals(a, b) : Equals(a, b);

            private static int Hash(object? value) => value is string ? RuntimeHelpers.GetHashCode(value) : value?.GetHashCode() ?? 0;
        }
    }
}
