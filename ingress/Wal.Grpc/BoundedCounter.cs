namespace Wal.Grpc;

/// <summary>A shared count that may not pass a limit: the receive budget here, and the ingress's bounds.</summary>
public static class BoundedCounter
{
    /// <summary>
    /// Adds <paramref name="amount"/> if the count stays within <paramref name="limit"/>; false, with nothing
    /// added, if not. Compare-and-swap rather than add-then-undo: a refused amount never shows in the count,
    /// not even for the instant before it would be taken back out.
    /// </summary>
    public static bool TryAdd(ref long count, long amount, long limit)
    {
        var current = Volatile.Read(ref count);
        while (true)
        {
            if (current + amount > limit)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref count, current + amount, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }
}
