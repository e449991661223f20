using System.Collections.Concurrent;
using Wal.Grpc;
using Wal.Namespaces;

namespace Wal.Ingress;

/// <summary>
/// Bounds the bytes of records waiting for Kafka (each LogEntry as produced, payload and envelope), per namespace and overall. A write that would cross
/// a bound is refused at once instead of queued: memory stays bounded however hard callers push,
/// and a slow namespace cannot take the whole instance's budget.
/// </summary>
public sealed class InFlightLimiter(long maxTotalBytes)
{
    // Far enough below zero that no number of reservations racing with Retain brings it back up.
    private const long Retired = long.MinValue / 2;

    private readonly ConcurrentDictionary<string, Usage> _byNamespace = new(StringComparer.Ordinal);
    private long _total;

    public long TotalBytes => Volatile.Read(ref _total);

    public long BytesOf(string @namespace) => _byNamespace.TryGetValue(@namespace, out var usage) ? Volatile.Read(ref usage.Bytes) : 0;

    /// <summary>
    /// What each namespace holds now: the writes and bytes awaiting Kafka. Read at scrape time for
    /// the in-flight gauges, so a write pays for no metric updates of its own here.
    /// </summary>
    public IEnumerable<(string Namespace, long Writes, long Bytes)> ByNamespace() =>
        _byNamespace.Where(pair => Volatile.Read(ref pair.Value.Holders) >= 0)
            .Select(pair => (pair.Key, Volatile.Read(ref pair.Value.Writes), Volatile.Read(ref pair.Value.Bytes)));

    /// <summary>The bound on bytes awaiting Kafka across all namespaces.</summary>
    public long MaxTotalBytes => maxTotalBytes;

    /// <summary>Reserves <paramref name="bytes"/> for one write; false (and nothing reserved) when a bound would be crossed.</summary>
    public bool TryAcquire(string @namespace, long namespaceLimit, long bytes) => TryAcquire(@namespace, namespaceLimit, bytes, out _);

    /// <summary>
    /// Reserves <paramref name="bytes"/> for one write; false (and nothing reserved) when a bound would be crossed,
    /// with <paramref name="instanceFull"/> saying which: the instance's (true) or the namespace's (false).
    /// </summary>
    public bool TryAcquire(string @namespace, long namespaceLimit, long bytes, out bool instanceFull)
    {
        var usage = Hold(@namespace);
        // The overall count first and the namespace's second, given back in the opposite order: a
        // namespace's bytes are always already in the total, so the gauges read at scrape time
        // never add up to more than the total, and neither ever shows more than its bound.
        instanceFull = false;
        if (!BoundedCounter.TryAdd(ref _total, bytes, maxTotalBytes))
        {
            instanceFull = true;
            Interlocked.Decrement(ref usage.Holders);
            return false;
        }

        if (!BoundedCounter.TryAdd(ref usage.Bytes, bytes, namespaceLimit))
        {
            Interlocked.Add(ref _total, -bytes);
            Interlocked.Decrement(ref usage.Holders);
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
            Interlocked.Decrement(ref usage.Writes);
            Interlocked.Add(ref usage.Bytes, -bytes);
            Interlocked.Decrement(ref usage.Holders);
        }

        Interlocked.Add(ref _total, -bytes);
    }

    /// <summary>
    /// Drops the counts of namespaces <paramref name="registry"/> no longer holds, once nothing of theirs awaits
    /// Kafka: namespaces created and deleted over time would otherwise keep an entry (and an in-flight gauge) each
    /// for the life of the process. One whose writes are still in flight is dropped by a later call.
    /// </summary>
    public void Retain(INamespaceRegistry registry)
    {
        foreach (var (name, usage) in _byNamespace)
        {
            if (!registry.TryGet(name, out _) && Interlocked.CompareExchange(ref usage.Holders, Retired, 0) == 0)
            {
                _byNamespace.TryRemove(KeyValuePair.Create(name, usage));
            }
        }
    }

    // A reservation holds its namespace's entry from before it counts anything until it is given back, so an
    // entry is only dropped while nobody holds it, and Release finds by name the very entry its write counted in.
    private Usage Hold(string @namespace)
    {
        var spin = default(SpinWait);
        while (true)
        {
            var usage = _byNamespace.GetOrAdd(@namespace, static _ => new Usage());
            if (Interlocked.Increment(ref usage.Holders) > 0)
            {
                return usage;
            }

            // Retired by Retain, which removes it next: the namespace was created again, and gets a new entry.
            spin.SpinOnce();
        }
    }

    private sealed class Usage
    {
        public long Bytes;
        public long Writes;
        // Reservations being made or held; Retired once the entry is dropped.
        public long Holders;
    }
}
