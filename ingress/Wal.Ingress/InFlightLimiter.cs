using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Wal.Ingress;

/// <summary>
/// Bounds the payload bytes waiting for Kafka, per namespace and overall. A write that would cross
/// a bound is refused at once instead of queued: memory stays bounded however hard callers push,
/// and a slow namespace cannot take the whole instance's budget.
/// </summary>
public sealed class InFlightLimiter(long maxTotalBytes)
{
    private readonly ConcurrentDictionary<string, StrongBox<long>> _byNamespace = new(StringComparer.Ordinal);
    private long _total;

    public long TotalBytes => Volatile.Read(ref _total);

    public long BytesOf(string @namespace) => _byNamespace.TryGetValue(@namespace, out var box) ? Volatile.Read(ref box.Value) : 0;

    /// <summary>Reserves <paramref name="bytes"/>; false (and nothing reserved) when a bound would be crossed.</summary>
    public bool TryAcquire(string @namespace, long namespaceLimit, long bytes)
    {
        var box = _byNamespace.GetOrAdd(@namespace, static _ => new StrongBox<long>());
        // Add first, then check: concurrent writers never see room that another already took.
        if (Interlocked.Add(ref box.Value, bytes) > namespaceLimit)
        {
            Interlocked.Add(ref box.Value, -bytes);
            return false;
        }

        if (Interlocked.Add(ref _total, bytes) > maxTotalBytes)
        {
            Interlocked.Add(ref _total, -bytes);
            Interlocked.Add(ref box.Value, -bytes);
            return false;
        }

        return true;
    }

    public void Release(string @namespace, long bytes)
    {
        if (_byNamespace.TryGetValue(@namespace, out var box))
        {
            Interlocked.Add(ref box.Value, -bytes);
        }

        Interlocked.Add(ref _total, -bytes);
    }
}
