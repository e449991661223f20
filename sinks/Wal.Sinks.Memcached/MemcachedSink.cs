using System.Text;
using Wal.Schemas.V1;

namespace Wal.Sinks.Memcached;

/// <summary>
/// Delivers to <see cref="Target.Memcached"/> targets: sets the key to the payload, or deletes it,
/// and never lets an older version overwrite a newer one.
/// </summary>
/// <remarks>
/// The version guard. Each stored value begins with a small header holding the delivery's version
/// (<see cref="VersionedValue"/>), and every write is a read-compare-write: <c>mg</c> reads the
/// current version and CAS token; if the stored version is newer the delivery is
/// <see cref="DeliveryOutcome.Superseded"/>, if equal it is already delivered, otherwise
/// <c>ms</c> writes with <c>C&lt;cas&gt;</c> (or as an add when the key is missing), so a concurrent
/// writer makes the write fail and the loop read again. Why not the item's CAS as the version
/// (<c>ms E&lt;version&gt;</c>)? Debian 12's memcached 1.6.18 rejects the <c>E</c> flag, and client
/// flags hold only 32 bits, too few for a microsecond version. A delete writes a tombstone (the
/// header alone, version-guarded the same way) instead of removing the key, because after a plain
/// delete a late redelivery of an older set would find the key missing and bring the value back;
/// the tombstone lives for the target's TTL, or <see cref="MemcachedSinkOptions.TombstoneTtl"/>.
/// Readers decode with <see cref="VersionedValue.TryDecode"/>; a value without the header (written
/// by someone else) counts as older than any delivery. Two shortcuts make the common cases one
/// round trip, both exact: a rewrite of a key this sink wrote recently skips the read
/// (<see cref="WrittenVersionCache"/>), the CAS compare still guarding it; and a key the sink
/// knows nothing about is first tried as an add (<c>ms ME</c>), which stores only if the key is
/// missing, falling back to read-compare-write when it exists (<see cref="AddFirstAdvisor"/>
/// turns the add off while most such keys turn out to exist).
/// </remarks>
public sealed class MemcachedSink : ISink
{
    private readonly MemcachedSinkOptions _options;
    private readonly Dictionary<string, MemcachedClient> _clients;
    private readonly Dictionary<string, WrittenVersionCache>? _written;
    private readonly Dictionary<string, AddFirstAdvisor> _addFirst;

    public MemcachedSink(MemcachedSinkOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _clients = options.Clusters.ToDictionary(c => c.Key, c => new MemcachedClient(c.Value.ToClientOptions(), timeProvider), StringComparer.Ordinal);
        _written = options.WrittenVersionCacheSlots == 0
            ? null
            : options.Clusters.ToDictionary(c => c.Key, _ => new WrittenVersionCache(options.WrittenVersionCacheSlots), StringComparer.Ordinal);
        _addFirst = options.Clusters.ToDictionary(c => c.Key, _ => new AddFirstAdvisor(), StringComparer.Ordinal);
    }

    public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.Target?.Memcached is not { } target)
        {
            return DeliveryResult.Permanent($"MemcachedSink got a {delivery.Target?.DestinationCase} target; it delivers only to memcached.");
        }

        if (!_clients.TryGetValue(target.Cluster, out var client))
        {
            return DeliveryResult.Permanent($"No memcached cluster named '{target.Cluster}' is configured (known: {string.Join(", ", _clients.Keys)}).");
        }

        if (!MemcachedKey.TryValidate(target.Key, out var keyError))
        {
            return DeliveryResult.Permanent(keyError!);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.OperationTimeout);
        try
        {
            return await WriteGuardedAsync(client, target, Encoding.UTF8.GetBytes(target.Key), delivery, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryResult.Retriable($"memcached cluster '{target.Cluster}' did not answer within {_options.OperationTimeout.TotalMilliseconds} ms.");
        }
        catch (MemcachedConnectionException error)
        {
            return DeliveryResult.Retriable(error.Message);
        }
        catch (MemcachedServerErrorException error)
        {
            return error.IsPermanent ? DeliveryResult.Permanent(error.Message) : DeliveryResult.Retriable(error.Message);
        }
        catch (MemcachedClientErrorException error)
        {
            return DeliveryResult.Permanent(error.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            await client.DisposeAsync();
        }
    }

    private async Task<DeliveryResult> WriteGuardedAsync(MemcachedClient client, MemcachedTarget target, byte[] key, Delivery delivery, CancellationToken cancellationToken)
    {
        var value = VersionedValue.Encode(delivery.Version, delivery.Payload.Span, target.Delete);
        var ttl = target.Ttl?.ToTimeSpan() ?? TimeSpan.Zero;
        if (target.Delete && ttl <= TimeSpan.Zero)
        {
            ttl = _options.TombstoneTtl;
        }

        var written = _written?[target.Cluster];
        var generation = client.ConnectionGeneration;
        var triedAdd = false;
        if (written is not null && written.TryGet(target.Key, generation, out var lastVersion, out var lastCas))
        {
            if (lastVersion < delivery.Version)
            {
                var blind = new MemcachedSetOptions { Ttl = ttl, ClientFlags = VersionedValue.ClientFlags, CompareCas = lastCas };
                var fast = await client.SetAsync(key, value, blind, cancellationToken);
                if (fast.Status == MemcachedStoreStatus.Stored)
                {
                    written.Remember(target.Key, generation, delivery.Version, fast.Cas);
                    return DeliveryResult.Delivered;
                }

                written.Forget(target.Key);
            }
        }
        else if (_addFirst[target.Cluster] is { ShouldAddFirst: true } advisor)
        {
            // An add applies only to a missing key, and a missing key holds no version (deletes
            // leave tombstones), so it cannot overwrite anything; if the key exists, read and compare.
            var add = new MemcachedSetOptions { Ttl = ttl, ClientFlags = VersionedValue.ClientFlags, Mode = MemcachedSetMode.Add };
            var added = await client.SetAsync(key, value, add, cancellationToken);
            if (added.Status == MemcachedStoreStatus.Stored)
            {
                advisor.FoundMissing();
                written?.Remember(target.Key, generation, delivery.Version, added.Cas);
                return DeliveryResult.Delivered;
            }

            advisor.FoundExisting();
            triedAdd = true;
        }

        for (var attempt = 0; attempt < _options.MaxCasAttempts; attempt++)
        {
            var current = await client.GetAsync(key, cancellationToken);
            if (attempt == 0 && !triedAdd)
            {
                NoteFound(target.Cluster, current is not null);
            }

            var setOptions = new MemcachedSetOptions { Ttl = ttl, ClientFlags = VersionedValue.ClientFlags, Mode = MemcachedSetMode.Add };
            if (current is not null)
            {
                if (VersionedValue.TryDecode(current.ClientFlags, current.Value, out var stored, out _, out _))
                {
                    if (stored > delivery.Version)
                    {
                        return DeliveryResult.Superseded;
                    }

                    if (stored == delivery.Version)
                    {
                        return DeliveryResult.Delivered;
                    }
                }

                setOptions = setOptions with { Mode = MemcachedSetMode.Set, CompareCas = current.Cas };
            }

            var result = await client.SetAsync(key, value, setOptions, cancellationToken);
            if (result.Status == MemcachedStoreStatus.Stored)
            {
                written?.Remember(target.Key, generation, delivery.Version, result.Cas);
                return DeliveryResult.Delivered;
            }

            // NotStored (someone added first), Exists (changed since read) or NotFound (expired or
            // evicted since read): read again and decide on what is there now.
        }

        return DeliveryResult.Retriable($"memcached key '{target.Key}' kept changing during {_options.MaxCasAttempts} compare-and-set attempts.");
    }

    private void NoteFound(string cluster, bool exists)
    {
        var advisor = _addFirst[cluster];
        if (exists)
        {
            advisor.FoundExisting();
        }
        else
        {
            advisor.FoundMissing();
        }
    }
}
