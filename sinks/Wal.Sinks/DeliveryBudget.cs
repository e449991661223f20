namespace Wal.Sinks;

/// <summary>How long a run of deliveries may take when each keeps the time one delivery would have.</summary>
public static class DeliveryBudget
{
    // The longest delay CancellationTokenSource.CancelAfter takes: 2^32 - 2 ms, about 49.7 days.
    private const double LongestTimerMs = uint.MaxValue - 1.0;

    /// <summary>
    /// <paramref name="perDelivery"/> times <paramref name="count"/>, capped at the longest timer .NET sets: uncapped,
    /// a long timeout times a large batch made <c>CancelAfter</c> throw instead of delivering.
    /// </summary>
    public static TimeSpan ForEach(TimeSpan perDelivery, int count) =>
        TimeSpan.FromMilliseconds(Math.Min(perDelivery.TotalMilliseconds * Math.Max(count, 1), LongestTimerMs));
}
