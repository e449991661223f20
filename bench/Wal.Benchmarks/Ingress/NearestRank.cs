namespace Wal.Benchmarks.Ingress;

/// <summary>Quantiles of measured latencies by the nearest-rank method.</summary>
internal static class NearestRank
{
    /// <summary>The <paramref name="quantile"/> (0..1) of <paramref name="values"/>; NaN when there are none.</summary>
    public static double Quantile(IReadOnlyCollection<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(quantile * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
