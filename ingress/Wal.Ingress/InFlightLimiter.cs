using System.Collections.Concurrent;

namespace Wal.Ingress;

/// <summary>
/// Bounds the payload bytes waiting for Kafka, per namespace and overall. A write that would cross
/// a bound is refused at once instead of queued: memory stays bounded however hard callers push,
/// and a slow namespace cannot take the whole instance's budget.
/// </summary>
public sealed class InFlightLimiter(long maxTotalBytes)
{
    private readonly ConcurrentDictionary<string, Usage> _byNamespace = new(StringComparer.Ordinal);
    private long _total;

    public long TotalBytes => Volatile.Read(ref _total);

    public long BytesOf(string @namespace) => _byNamespace.TryGetValue(@namespace, out var usage) ? Volatile.Read(ref usage.Bytes) : 0;

    /// <summary>
    /// What each namespace holds now: the writes and bytes awaiting Kafka. Read at scrape time for
    /// the in-flight gauges, so a write pays for no metric updates of its own here.
    /// </summary>
    public IEnumerable<(string Namespace, long Writes, long Bytes)> ByNamespace() =>
        _byNamespace.Select(pair => (pair.Key, Volatile.Read(ref pair.Value.Writes), Volatile.Read(ref pair.Value.Bytes)));

    /// <summary>Reserves <paramref name="bytes"/> for one write; false (and nothing reserved) when a bound would be crossed.</summary>
    public bool TryAcquire(string @namespace, long namespaceLimit, long bytes)
    {
        var usage = _byNamespace.GetOrAdd(@namespace, static _ => new Usage());
        // Add first, then check: concurrent writers never see room that another already took.
        if (Interlocked.Add(ref usage.Bytes, bytes) > namespaceLimit)
        {
            Interlocked.Add(ref usage.Bytes, -bytes);
            return false;
        }

        if (Interlocked.Add(ref _total, bytes) > maxTotalBytes)
        {
            Interlocked.Add(ref _total, -bytes);
            Interlocked.Add(ref usage.Bytes, -bytes);
            return false;
        }

        Interlocked.Increment(ref usage.Writes);
        return true;
    }

    /// <summary>Ends one write's reservation of <paramref name="bytes"/>.</summary>
    public void Release(string @namespace, long bytes)
    {
        if (_byNamespace.TryGetValue(@namespace, out var usage))
        {
            Interlocked.Add(ref usage.Bytes, -bytes);
            Interlocked.Decrement(ref usage.Writes);
        }

        Interlocked.Add(ref _total, -bytes);
    }

    private sealed class Usage
    {
        public long Bytes;
        public long Writes;
    }
}
