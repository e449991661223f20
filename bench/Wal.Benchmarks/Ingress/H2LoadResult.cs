namespace Wal.Benchmarks.Ingress;

/// <summary>What h2load reported: HTTP-level outcomes only, the run's wall-clock and h2load's CPU time, and per-request times when logged.</summary>
internal sealed record H2LoadResult(long Succeeded, long Failed, long Status2xx, TimeSpan Elapsed, TimeSpan ProcessorTime, double[] LatenciesMs, string Output)
{
    /// <summary>The <paramref name="quantile"/> (0..1) of the logged request times, nearest-rank; NaN when none were logged.</summary>
    public double LatencyQuantile(double quantile) => NearestRank.Quantile(LatenciesMs, quantile);
}
