namespace Wal.Prometheus;

/// <summary>
/// One time series: a running sum (counters, up-down counters), an observed level or a histogram's bucket counts.
/// Updates take a tiny lock; measurements are rare next to a Kafka round trip.
/// </summary>
internal sealed class PrometheusSeries(string labels, IReadOnlyDictionary<string, string> tags, double[]? bounds)
{
    private readonly Lock _gate = new();
    private readonly long[] _buckets = bounds is null ? [] : new long[bounds.Length + 1];
    private double _sum;
    private long _count;
    private long _observedIn;
    private bool _forgotten;

    /// <summary>Rendered label pairs without braces, e.g. <c>namespace="a",durable="true"</c>.</summary>
    public string Labels { get; } = labels;

    /// <summary>Each tag's value as measured, unescaped: what <see cref="PrometheusExporter.Forget"/> matches.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; } = tags;

    /// <summary>
    /// Whether the exporter dropped this series (its namespace was deleted, say). A measurement that still finds it
    /// through a shortcut taken before must look again, or it would count, for as long as the shortcut lasts, in a
    /// series nobody renders.
    /// </summary>
    public bool IsForgotten => Volatile.Read(ref _forgotten);

    public void Forget() => Volatile.Write(ref _forgotten, true);

    public void Add(double value)
    {
        lock (_gate)
        {
            _sum += value;
            _count++;
        }
    }

    /// <summary>The exporter's collection that last set this level (see <see cref="Set"/>).</summary>
    public long ObservedIn => Volatile.Read(ref _observedIn);

    /// <summary>Replaces the value: an observed level (say, bytes in flight now), not a change, seen in <paramref name="collection"/>.</summary>
    public void Set(double value, long collection)
    {
        lock (_gate)
        {
            // Scrapes may overlap: a measurement of an earlier collection that gets here after a later one's must not
            // move the mark back, or the later scrape takes its own level for unreported and leaves it out.
            if (collection < _observedIn)
            {
                return;
            }

            _sum = value;
            _count++;
            Volatile.Write(ref _observedIn, collection);
        }
    }

    public void Record(double value)
    {
        var bucket = bounds is null ? 0 : FindBucket(bounds, value);
        lock (_gate)
        {
            _buckets[bucket]++;
            _sum += value;
            _count++;
        }
    }

    public (double Sum, long Count, long[] Buckets) Snapshot()
    {
        lock (_gate)
        {
            return (_sum, _count, (long[])_buckets.Clone());
        }
    }

    private static int FindBucket(double[] bounds, double value)
    {
        // Prometheus buckets are "less than or equal": the first bound not below the value.
        var index = Array.BinarySearch(bounds, value);
        return index >= 0 ? index : ~index;
    }
}
