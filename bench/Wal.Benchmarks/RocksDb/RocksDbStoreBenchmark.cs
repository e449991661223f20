using System.Diagnostics;
using System.Text;
using Wal.RocksDb;
using Wal.Streams.State;

namespace Wal.Benchmarks.RocksDb;

/// <summary>
/// Benchmark (b): <see cref="RocksDbKeyValueStore"/> put and get against the same RocksDB calls made
/// with raw pointers, on two databases with the same options and the same keys, values and order.
/// The sides alternate in small slices of keys; each side's median round counts.
/// </summary>
internal sealed class RocksDbStoreBenchmark : IRatioBenchmark
{
    private const int KeyCount = 200_000;
    private const int ValueSize = 100;
    private const int Rounds = 5;
    private const int SliceSize = 2_000;
    private const double Target = 0.9;

    public string Name => "rocksdb-store";

    public string Description => "RocksDbKeyValueStore put/get vs raw P/Invoke, same options and data: target >= 0.9 each";

    public Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken) =>
        Task.Run(() => Run(cancellationToken), cancellationToken);

    private static BenchmarkReport Run(CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), $"wal-bench-rocksdb-{Environment.ProcessId}");
        var random = new Random(1234);
        var keys = Enumerable.Range(0, KeyCount).Select(i => Encoding.ASCII.GetBytes($"key-{i:D12}")).ToArray();
        var putOrder = Shuffled(keys, random);
        var getOrder = Shuffled(keys, random);
        var value = new byte[ValueSize];
        random.NextBytes(value);

        try
        {
            var options = new RocksDbOptions();
            using var raw = new RawDatabase(Path.Combine(root, "raw"), options);
            using var store = new RocksDbKeyValueStore("bench", Path.Combine(root, "store"), options);
            var rounds = new List<Round>();
            for (var round = 0; round <= Rounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = RunRound(raw, store, putOrder, getOrder, value);
                if (round > 0)
                {
                    rounds.Add(result);
                }
            }

            return Report(rounds);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static Round RunRound(RawDatabase raw, RocksDbKeyValueStore store, byte[][] putOrder, byte[][] getOrder, byte[] value)
    {
        var (rawPut, storePut) = MeasureInterleaved(putOrder, key => raw.Put(key, value), key => store.Put(key, value));

        // Both read from files and block cache, not from a memtable one of them happens to still hold.
        raw.Flush();
        store.Flush();
        var (rawGet, storeGet) = MeasureInterleaved(getOrder, key => Check(raw.GetPinned(key)), key => Check(store.Get(key)));
        var (rawGetMalloc, rawGetPinned) = MeasureInterleaved(getOrder, key => Check(raw.GetMalloced(key)), key => Check(raw.GetPinned(key)));
        return new Round(rawPut, storePut, rawGet, storeGet, rawGetMalloc.Wall / rawGetPinned.Wall);
    }

    /// <summary>
    /// Runs both sides over the same keys in alternating slices, so that load from elsewhere on this
    /// shared machine falls on both alike; returns each side's operations per second.
    /// </summary>
    private static (Rate Raw, Rate Store) MeasureInterleaved(byte[][] keys, Action<byte[]> raw, Action<byte[]> store)
    {
        var rawTime = default(Elapsed);
        var storeTime = default(Elapsed);
        for (int offset = 0, slice = 0; offset < keys.Length; offset += SliceSize, slice++)
        {
            var part = keys.AsSpan(offset, Math.Min(SliceSize, keys.Length - offset));
            if (slice % 2 == 0)
            {
                rawTime += Time(part, raw);
                storeTime += Time(part, store);
            }
            else
            {
                storeTime += Time(part, store);
                rawTime += Time(part, raw);
            }
        }

        return (rawTime.RateFor(keys.Length), storeTime.RateFor(keys.Length));
    }

    private static BenchmarkReport Report(List<Round> rounds)
    {
        var rawPut = Median(rounds.Select(r => r.RawPut.Wall));
        var storePut = Median(rounds.Select(r => r.StorePut.Wall));
        var rawGet = Median(rounds.Select(r => r.RawGet.Wall));
        var storeGet = Median(rounds.Select(r => r.StoreGet.Wall));
        var putRatio = storePut / rawPut;
        var getRatio = storeGet / rawGet;
        var figures = new List<(string, double, string)>
        {
            ($"raw put (write batches of {RocksDbKeyValueStore.MaxPendingWrites:N0}, WAL off)", rawPut, "ops/s"),
            ("store put (RocksDbKeyValueStore.Put)", storePut, "ops/s"),
            ("put ratio store/raw", putRatio, "x"),
            ("put ratio store/raw, thread CPU time", Median(rounds.Select(r => r.StorePut.Cpu / r.RawPut.Cpu)), "x"),
            ("raw get (rocksdb_get_pinned + copy)", rawGet, "ops/s"),
            ("store get (RocksDbKeyValueStore.Get)", storeGet, "ops/s"),
            ("get ratio store/raw", getRatio, "x"),
            ("get ratio store/raw, thread CPU time", Median(rounds.Select(r => r.StoreGet.Cpu / r.RawGet.Cpu)), "x"),
            ("raw plain rocksdb_get / raw get_pinned", Median(rounds.Select(r => r.MallocOverPinned)), "x"),
        };
        return new BenchmarkReport(
            "rocksdb-store: RocksDbKeyValueStore vs raw P/Invoke",
            figures,
            $"put and get ratios >= {Target} ({KeyCount:N0} keys x {ValueSize} B, median of {rounds.Count} rounds, wall clock)",
            putRatio >= Target && getRatio >= Target);
    }

    private static Elapsed Time(ReadOnlySpan<byte[]> keys, Action<byte[]> operation)
    {
        var start = Stopwatch.GetTimestamp();
        var cpuStart = ThreadCpuClock.NowNanoseconds();
        foreach (var key in keys)
        {
            operation(key);
        }

        var cpu = ThreadCpuClock.NowNanoseconds() - cpuStart;
        return new Elapsed(Stopwatch.GetElapsedTime(start).TotalSeconds, cpu / 1e9);
    }

    private static void Check(byte[]? value)
    {
        if (value is not { Length: ValueSize })
        {
            throw new InvalidOperationException("A key written in this round was not read back.");
        }
    }

    private static byte[][] Shuffled(byte[][] keys, Random random)
    {
        var copy = (byte[][])keys.Clone();
        random.Shuffle(copy);
        return copy;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private sealed record Round(Rate RawPut, Rate StorePut, Rate RawGet, Rate StoreGet, double MallocOverPinned);

    /// <summary>Operations per second of wall-clock time and of the thread's CPU time.</summary>
    private readonly record struct Rate(double Wall, double Cpu);

    private readonly record struct Elapsed(double WallSeconds, double CpuSeconds)
    {
        public static Elapsed operator +(Elapsed x, Elapsed y) => new(x.WallSeconds + y.WallSeconds, x.CpuSeconds + y.CpuSeconds);

        public Rate RateFor(int operations) => new(operations / WallSeconds, operations / CpuSeconds);
    }
}
