using System.Diagnostics.Metrics;
using Wal.Prometheus;

namespace Wal.Ingress.Tests;

public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new($"test.{Guid.NewGuid():N}");
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests()
    {
        _exporter = new PrometheusExporter(i => ReferenceEquals(i.Meter, _meter));
    }

    [Fact]
    public void Counter_SameLabelsAsOtherInstancesAndInAnyOrder_OneSeries()
    {
        var counter = _meter.CreateCounter<long>("wal_test_requests", "{request}", "Requests.");

        counter.Add(1, new("method", "write"), new("namespace", "orders"));
        // Equal text in strings built at run time, and the tags the other way round.
        counter.Add(2, new("namespace", new string("orders".AsSpan())), new(new string("method".AsSpan()), string.Concat("wr", "ite")));
        counter.Add(4, new("method", "write"), new("namespace", "orders"));
        counter.Add(8, new("method", "write"), new("namespace", "payments"));

        var text = _exporter.Render();
        Assert.Contains("wal_test_requests_total{method=\"write\",namespace=\"orders\"} 7\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_requests_total{method=\"write\",namespace=\"payments\"} 8\n", text, StringComparison.Ordinal);
        Assert.Equal(2, text.Split('\n').Count(l => l.StartsWith("wal_test_requests_total{", StringComparison.Ordinal)));
    }

    [Fact]
    public void Counter_TagNameWithAColon_LabelNameWithoutOne()
    {
        // ':' is fine in a metric name but not in a label name: one there made Prometheus reject the whole scrape.
        var counter = _meter.CreateCounter<long>("wal_test:calls", "{call}", "Calls.");

        counter.Add(1, new KeyValuePair<string, object?>("rpc:method", "x"));

        Assert.Contains("wal_test:calls_total{rpc_method=\"x\"} 1\n", _exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void Counter_ManyFreshTagValuesPastTheCache_EachSeriesStillCounted()
    {
        var counter = _meter.CreateCounter<long>("wal_test_parts", "{part}", "Parts.");

        // Boxed numbers and formatted strings are new objects per call: 5,000 of each is past the
        // exporter's cache of tag instances, so the later ones take the label-set path.
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 5000; i++)
            {
                counter.Add(1, new KeyValuePair<string, object?>("part", i));
                counter.Add(1, new KeyValuePair<string, object?>("name", $"n{i}"));
            }
        }

        var text = _exporter.Render();
        Assert.Contains("wal_test_parts_total{part=\"0\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_parts_total{part=\"4999\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_parts_total{name=\"n4999\"} 2\n", text, StringComparison.Ordinal);
        Assert.Equal(10_000, text.Split('\n').Count(l => l.StartsWith("wal_test_parts_total{", StringComparison.Ordinal)));
    }

    [Fact]
    public void Counter_TagSetsTakingTurns_EachCountedInItsOwnSeries()
    {
        var counter = _meter.CreateCounter<long>("wal_test_turns", "{write}", "Writes.");
        var boxedOne = (object)1;

        // The exporter remembers the tags it matched last: every measurement here differs from the one before it in
        // one place only (a value, a boxed value, a tag's name or the number of tags), so none may take its series.
        for (var i = 0; i < 3; i++)
        {
            counter.Add(1, new("namespace", "a"), new("durable", "true"));
            counter.Add(10, new("namespace", "b"), new("durable", "true"));
            counter.Add(100, new("namespace", "a"), new("durable", "false"));
            counter.Add(1_000, new("namespace", "a"), new("outcome", "true"));
            counter.Add(10_000, new KeyValuePair<string, object?>("namespace", "a"));
            counter.Add(100_000, new("namespace", "a"), new("shard", boxedOne));
            counter.Add(1_000_000, new("namespace", "a"), new("shard", 2));
        }

        var text = _exporter.Render();
        Assert.Contains("wal_test_turns_total{durable=\"true\",namespace=\"a\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_turns_total{durable=\"true\",namespace=\"b\"} 30\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_turns_total{durable=\"false\",namespace=\"a\"} 300\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_turns_total{namespace=\"a\",outcome=\"true\"} 3000\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_turns_total{namespace=\"a\"} 30000\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_turns_total{namespace=\"a\",shard=\"1\"} 300000\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_turns_total{namespace=\"a\",shard=\"2\"} 3000000\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Counter_ForgottenAndMeasuredAgainWithTheSameTags_ShowsTheNewCount()
    {
        var counter = _meter.CreateCounter<long>("wal_test_reborn", "{write}", "Writes.");
        counter.Add(5, new KeyValuePair<string, object?>("namespace", "orders"));
        counter.Add(5, new KeyValuePair<string, object?>("namespace", "orders"));

        // A namespace deleted, then created again under its name: the series starts over, and is not left in the
        // dropped one the last measurement went to.
        _exporter.Forget("namespace", n => n == "orders");
        Assert.DoesNotContain("namespace=\"orders\"", _exporter.Render(), StringComparison.Ordinal);
        counter.Add(1, new KeyValuePair<string, object?>("namespace", "orders"));

        Assert.Contains("wal_test_reborn_total{namespace=\"orders\"} 1\n", _exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void Counter_ForgottenWhileAMeasurementCachesItsTags_LaterMeasurementsInANewSeries()
    {
        var counter = _meter.CreateCounter<long>("wal_test_doomed", "{write}", "Writes.");
        var first = new HookedTagValue("doomed");
        var second = new HookedTagValue("doomed");
        counter.Add(1, new KeyValuePair<string, object?>("namespace", first));

        // The second instance misses the cached tags and finds the series by its labels; its tags are hashed a second
        // time to cache them with that series. The namespace is dropped right then, as a delete on the control plane's
        // thread may do at any moment, so the tags are cached with a series already dropped.
        second.OnHash(2, () => _exporter.Forget("namespace", n => n == "doomed"));
        counter.Add(1, new KeyValuePair<string, object?>("namespace", second));
        Assert.DoesNotContain("namespace=\"doomed\"", _exporter.Render(), StringComparison.Ordinal);

        // The namespace is back, measured with the same tags: each measurement must count where the render sees it.
        counter.Add(10, new KeyValuePair<string, object?>("namespace", second));
        counter.Add(100, new KeyValuePair<string, object?>("namespace", second));

        Assert.Contains("wal_test_doomed_total{namespace=\"doomed\"} 110\n", _exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_Recorded_CumulativeBucketsSumAndCount()
    {
        var histogram = _meter.CreateHistogram<double>("wal_test_duration", "s", "Durations.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });

        foreach (var value in new[] { 0.005, 0.01, 0.05, 2.0 })
        {
            histogram.Record(value, new KeyValuePair<string, object?>("namespace", "orders"));
        }

        var text = _exporter.Render();
        Assert.Contains("# TYPE wal_test_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_duration_seconds_bucket{namespace=\"orders\",le=\"0.01\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_duration_seconds_bucket{namespace=\"orders\",le=\"0.1\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_duration_seconds_bucket{namespace=\"orders\",le=\"1\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_duration_seconds_bucket{namespace=\"orders\",le=\"+Inf\"} 4\n", text, StringComparison.Ordinal);
        var sum = text.Split('\n').Single(l => l.StartsWith("wal_test_duration_seconds_sum{namespace=\"orders\"} ", StringComparison.Ordinal));
        Assert.Equal(2.065, double.Parse(sum.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), precision: 9);
        Assert.Contains("wal_test_duration_seconds_count{namespace=\"orders\"} 4\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_RecordedFromThreadsWhileScraped_EveryScrapeConsistent()
    {
        // A scrape reads a series' buckets, sum and count at one moment: each scrape's buckets only grow, the +Inf
        // bucket is the count, and the sum is what its buckets hold (0.25 and 2 add up exactly in binary).
        var histogram = _meter.CreateHistogram<double>("wal_test_latency", "s", "Latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.25, 1, 4] });
        histogram.Record(0.25);
        using var scraped = new CancellationTokenSource();
        var recorders = new[] { 0.25, 2.0 }.Select(value => new Thread(() =>
        {
            while (!scraped.IsCancellationRequested)
            {
                histogram.Record(value);
            }
        })).ToList();
        recorders.ForEach(t => t.Start());

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        double lastCount = 0;
        try
        {
            // Scraped until the count has moved a few thousand times between scrapes, or the deadline.
            for (var moved = 0; moved < 2_000 && DateTime.UtcNow < deadline;)
            {
                var text = _exporter.Render();
                var samples = text.Split('\n').Where(l => l.StartsWith("wal_test_latency_seconds", StringComparison.Ordinal))
                    .ToDictionary(l => l[..l.LastIndexOf(' ')], l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
                double Bucket(string le) => samples[$"wal_test_latency_seconds_bucket{{le=\"{le}\"}}"];
                var count = samples["wal_test_latency_seconds_count"];
                Assert.True(Bucket("0.25") <= Bucket("1") && Bucket("1") <= Bucket("4") && Bucket("4") <= Bucket("+Inf"), text);
                Assert.True(Bucket("+Inf") == count, text);
                Assert.True(samples["wal_test_latency_seconds_sum"] == (0.25 * Bucket("0.25")) + (2.0 * (count - Bucket("0.25"))), text);
                moved += count > lastCount ? 1 : 0;
                lastCount = count;
            }
        }
        finally
        {
            scraped.Cancel();
            recorders.ForEach(t => t.Join());
        }
    }

    [Fact]
    public void ObservableUpDownCounter_ReadAtEachRender_ShowsTheLevelNotASum()
    {
        var level = 5L;
        _meter.CreateObservableUpDownCounter("wal_test_in_flight", () => level, "{write}", "In flight.");

        var first = _exporter.Render();
        level = 3;
        var second = _exporter.Render();

        Assert.Contains("wal_test_in_flight 5\n", first, StringComparison.Ordinal);
        Assert.Contains("wal_test_in_flight 3\n", second, StringComparison.Ordinal);
    }

    [Fact]
    public void ObservableGauge_SeriesNoLongerReported_LeavesTheRender()
    {
        // As wal.streams.store.entries does: a store is reported while this process runs tasks of it.
        var stores = new Dictionary<string, long> { ["a-timers"] = 4, ["b-timers"] = 2 };
        _meter.CreateObservableGauge(
            "wal_test_store_entries",
            () => stores.Select(s => new Measurement<long>(s.Value, new KeyValuePair<string, object?>("store", s.Key))),
            "{entry}",
            "Entries.");

        var first = _exporter.Render();
        stores.Remove("b-timers");
        var second = _exporter.Render();
        stores["b-timers"] = 5;
        var third = _exporter.Render();

        Assert.Contains("wal_test_store_entries{store=\"b-timers\"} 2\n", first, StringComparison.Ordinal);
        Assert.Contains("wal_test_store_entries{store=\"a-timers\"} 4\n", second, StringComparison.Ordinal);
        Assert.DoesNotContain("b-timers", second, StringComparison.Ordinal);
        Assert.Contains("# TYPE wal_test_store_entries gauge\n", second, StringComparison.Ordinal);
        Assert.Contains("wal_test_store_entries{store=\"b-timers\"} 5\n", third, StringComparison.Ordinal);
    }

    [Fact]
    public void ObservableGauge_ScrapedFromTwoThreadsAtOnce_EveryScrapeShowsTheLevel()
    {
        // Two scrapers at once (a pair of Prometheus servers, or one and a person with curl): a measurement of the
        // earlier scrape that lands after the later scrape's own must not mark the level as unreported in the later one.
        _meter.CreateObservableGauge("wal_test_level", () => new Measurement<long>(1, new KeyValuePair<string, object?>("store", "s")), "{entry}", "Level.");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        string? missed = null;

        Parallel.For(0, 2, _ =>
        {
            while (Volatile.Read(ref missed) is null && DateTime.UtcNow < deadline)
            {
                var text = _exporter.Render();
                if (!text.Contains("wal_test_level{store=\"s\"} 1\n", StringComparison.Ordinal))
                {
                    Interlocked.CompareExchange(ref missed, text, null);
                }
            }
        });

        Assert.True(missed is null, $"a scrape without the level:\n{missed}");
    }

    [Fact]
    public void Render_AnObservableCallbackThrows_EveryOtherInstrumentStillExported()
    {
        // One broken callback used to fail the whole scrape (an AggregateException out of Render, a 500 from
        // /metrics), so every other series vanished with it.
        var level = 3L;
        _meter.CreateCounter<long>("wal_test_writes", "{write}", "Writes.").Add(2);
        _meter.CreateObservableUpDownCounter("wal_test_open", () => level, "{connection}", "Open.");
        _meter.CreateObservableGauge<long>("wal_test_broken", () => level == 3 ? level : throw new InvalidOperationException("store closed"), "{entry}", "Broken.");

        Assert.Contains("wal_test_broken 3\n", _exporter.Render(), StringComparison.Ordinal);
        level = 4;
        var text = _exporter.Render();

        Assert.Contains("wal_test_writes_total 2\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_open 4\n", text, StringComparison.Ordinal);
        // Its last level is not current: left out, and the scrape says why.
        Assert.DoesNotContain("wal_test_broken 3", text, StringComparison.Ordinal);
        Assert.Contains("# Failed to observe: InvalidOperationException: store closed\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ObservableCounter_ReadAtEachRender_ACounterFamilyWithItsRunningTotal()
    {
        var total = 2L;
        _meter.CreateObservableCounter("wal_test_refused", () => total, "{connection}", "Refused.");

        var first = _exporter.Render();
        total = 7;
        var second = _exporter.Render();

        Assert.Contains("# TYPE wal_test_refused_total counter\n", first, StringComparison.Ordinal);
        Assert.Contains("wal_test_refused_total 2\n", first, StringComparison.Ordinal);
        Assert.Contains("wal_test_refused_total 7\n", second, StringComparison.Ordinal);
    }

    [Fact]
    public void IntInstruments_ExportedAsTheirLongKin()
    {
        // An int instrument was published, enabled and never heard from: a gauge of open connections
        // vanished from /metrics with nothing to say why.
        var open = 3;
        _meter.CreateObservableUpDownCounter("wal_test_open", () => open, "{connection}", "Open.");
        _meter.CreateCounter<int>("wal_test_calls", "{call}", "Calls.").Add(2);
        _meter.CreateHistogram<int>("wal_test_sizes", "By", "Sizes.", advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [10, 100] }).Record(50);

        var text = _exporter.Render();

        Assert.Contains("wal_test_open 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE wal_test_calls_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_calls_total 2\n", text, StringComparison.Ordinal);
        Assert.Contains("wal_test_sizes_bytes_bucket{le=\"100\"} 1\n", text, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    /// <summary>A tag value of its own instance, equal only to itself, that runs a step when its hash is taken for the nth time.</summary>
    private sealed class HookedTagValue(string text)
    {
        private int _hashesLeft;
        private Action? _step;

        public void OnHash(int nth, Action step)
        {
            _hashesLeft = nth;
            _step = step;
        }

        public override int GetHashCode()
        {
            if (_step is { } step && --_hashesLeft == 0)
            {
                _step = null;
                step();
            }

            return base.GetHashCode();
        }

        public override bool Equals(object? obj) => ReferenceEquals(this, obj);

        public override string ToString() => text;
    }
}
