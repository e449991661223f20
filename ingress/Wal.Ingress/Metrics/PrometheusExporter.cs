using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Wal.Ingress.Metrics;

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

    /// <param name="include">Which instruments to export, e.g. by meter name and scope.</param>
    public PrometheusExporter(Func<Instrument, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument) && IsSupported(instrument))
            {
                _instruments[instrument] = new InstrumentState(instrument, BoundsOf(instrument));
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _);
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Measure(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Measure(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Every exported series now, in the text format.</summary>
    public string Render()
    {
        // Observable instruments report only when asked: their callbacks run here.
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        foreach (var state in _instruments.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            state.Render(text);
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void Measure(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_instruments.TryGetValue(instrument, out var state))
        {
            state.Measure(value, tags);
        }
    }

    private static bool IsSupported(Instrument instrument) =>
        instrument is Counter<long> or Counter<double> or UpDownCounter<long> or UpDownCounter<double> or Histogram<double> or Histogram<long>
            || IsObservedLevel(instrument);

    // Instruments whose measurement is the current value itself, taken at collection time.
    private static bool IsObservedLevel(Instrument instrument) =>
        instrument is ObservableUpDownCounter<long> or ObservableUpDownCounter<double> or ObservableGauge<long> or ObservableGauge<double>;

    private static double[]? BoundsOf(Instrument instrument) => instrument switch
    {
        Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBounds,
        Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray() ?? DefaultBounds,
        _ => null,
    };

    private sealed class InstrumentState(Instrument instrument, double[]? bounds)
    {
        private readonly ConcurrentDictionary<string, PrometheusSeries> _series = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<SeriesKey, PrometheusSeries> _byKey = new();
        private readonly bool _observedLevel = IsObservedLevel(instrument);
        private readonly string _type = instrument switch
        {
            Counter<long> or Counter<double> => "counter",
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
                series.Set(value);
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

        public void Render(StringBuilder text)
        {
            text.Append("# HELP ").Append(Name).Append(' ').Append(PrometheusNames.EscapeHelp(instrument.Description ?? instrument.Name)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(_type).Append('\n');
            foreach (var series in _series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal))
            {
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

        // Hot path: up to three tags are looked up by their values without building a string.
        private PrometheusSeries Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length > 3)
            {
                return BySet(tags);
            }

            KeyValuePair<string, object?> a = tags.Length > 0 ? tags[0] : default, b = tags.Length > 1 ? tags[1] : default, c = tags.Length > 2 ? tags[2] : default;
            var key = new SeriesKey(a.Key, a.Value, b.Key, b.Value, c.Key, c.Value);
            return _byKey.TryGetValue(key, out var found) ? found : _byKey.GetOrAdd(key, BySet(tags));
        }

        // One series per label set, however the tags were ordered at the call site.
        private PrometheusSeries BySet(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            _series.GetOrAdd(PrometheusNames.Labels(tags), static (l, b) => new PrometheusSeries(l, b), bounds);

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

    // Plain fields, not KeyValuePairs: KeyValuePair has no IEquatable, so comparing it would box.
    private readonly record struct SeriesKey(string? Name1, object? Value1, string? Name2, object? Value2, string? Name3, object? Value3);
}
