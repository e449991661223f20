namespace Wal.Sinks.Memcached;

/// <summary>
/// Decides whether a write of a key the sink knows nothing about should try <c>ms</c> as an add
/// first (one round trip when the key is missing) or read first (two round trips either way).
/// </summary>
/// <remarks>
/// An add that finds the key costs a wasted round trip on top of the read and compare-and-set it
/// falls back to, so adding first pays only while most unknown keys are missing, as in a stream
/// of fresh mutation keys, and not when many writers share keys or after a restart emptied the
/// cache. The advisor keeps a small score of what recent writes found: a missing key lowers it, an
/// existing one raises it; above the midpoint writes read first, and their reads keep scoring, so
/// the advice swings back once keys go missing again. Updates race benignly: it is only advice,
/// and either path is exact.
/// </remarks>
internal sealed class AddFirstAdvisor
{
    private const int Max = 16;
    private const int Threshold = Max / 2;
    private int _score;

    public bool ShouldAddFirst => Volatile.Read(ref _score) < Threshold;

    public void FoundMissing() => Move(-1);

    public void FoundExisting() => Move(+1);

    private void Move(int step)
    {
        var current = Volatile.Read(ref _score);
        var next = Math.Clamp(current + step, 0, Max);
        if (next != current)
        {
            Interlocked.CompareExchange(ref _score, next, current);
        }
    }
}
