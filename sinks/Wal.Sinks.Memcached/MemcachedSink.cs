using System.Globalization;
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
/// turns the add off while most such keys turn out to exist). <see cref="DeliverInOrderAsync"/>
/// sends such one-round-trip writes of distinct keys back to back on one connection per client
/// and only then reads what came back (see MemcachedSink.InOrder.cs).
/// </remarks>
public sealed partial class MemcachedSink : ISink
{
    private readonly MemcachedSinkOptions _options;
    // OperationTimeout as a timer takes it: CancelAfter throws past 2^32 - 2 ms (49.7 days), which escaped every delivery.
    private readonly TimeSpan _operationDeadline;
    private readonly Dictionary<string, MemcachedClient> _clients;
    private readonly Dictionary<string, WrittenVersionCache>? _written;
    private readonly Dictionary<string, AddFirstAdvisor> _addFirst;

    public MemcachedSink(MemcachedSinkOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _operationDeadline = DeliveryBudget.ForEach(options.OperationTimeout, 1);
        // Clusters configured with the same servers and settings (tables on one memcached) share a
        // client: one set of connections, and a mutation's writes to several of them leave as one
        // pipelined request. Keys name the same items there either way.
        var shared = new Dictionary<string, MemcachedClient>(StringComparer.Ordinal);
        _clients = options.Clusters.ToDictionary(c => c.Key, c => SharedClient(shared, c.Value, timeProvider), StringComparer.Ordinal);
        _written = options.WrittenVersionCacheSlots == 0
            ? null
            : options.Clusters.ToDictionary(c => c.Key, _ => new WrittenVersionCache(options.WrittenVersionCacheSlots), StringComparer.Ordinal);
        _addFirst = options.Clusters.ToDictionary(c => c.Key, _ => new AddFirstAdvisor(), StringComparer.Ordinal);
    }

    public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (Prepare(delivery, out var write) is { } refused)
        {
            return refused;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_operationDeadline);
        try
        {
            return await WriteGuardedAsync(write, deadline.Token);
        }
        catch (Exception error) when (Classify(error, write.Cluster, cancellationToken) is { } failure)
        {
            return failure;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values.Distinct())
        {
            await client.DisposeAsync();
        }
    }

    private static MemcachedClient SharedClient(Dictionary<string, MemcachedClient> shared, MemcachedClusterOptions cluster, TimeProvider? timeProvider)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{string.Join(',', cluster.Servers)}|{cluster.ConnectionsPerServer}|{cluster.ConnectTimeout.Ticks}");
        if (!shared.TryGetValue(key, out var client))
        {
            shared[key] = client = new MemcachedClient(cluster.ToClientOptions(), timeProvider);
        }

        return client;
    }

    /// <summary>Checks the delivery and works out its write; a result when it can never be written.</summary>
    private DeliveryResult? Prepare(Delivery delivery, out GuardedWrite write)
    {
        write = default;
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

        // The ingress refuses such a TTL, but a record can come around it (a redrive, another producer): negative, it went
        // as T0 (never expires); not normalized, ToTimeSpan threw out of the sink, and the record was retried for nothing.
        if (target.Ttl is { } requested && !DurationRules.IsValidNonNegative(requested))
        {
            return DeliveryResult.Permanent($"The memcached target's ttl ({requested.Seconds} s, {requested.Nanos} ns) is not a valid, non-negative duration.");
        }

        var ttl = target.Ttl?.ToTimeSpan() ?? TimeSpan.Zero;
        if (target.Delete && ttl <= TimeSpan.Zero)
        {
            ttl = _options.TombstoneTtl;
        }

        var key = Encoding.UTF8.GetBytes(target.Key);
        var value = VersionedValue.Encode(delivery.Version, delivery.Payload.Span, target.Delete);
        if (key.Length + value.Length + MemcachedSinkOptions.ItemOverheadBytes > _options.MaxItemBytes)
        {
            return DeliveryResult.Permanent(
                $"The item for key '{target.Key}' would take {key.Length + value.Length} bytes, too large for memcached cluster '{target.Cluster}' " +
                $"(MaxItemBytes {_options.MaxItemBytes}, less {MemcachedSinkOptions.ItemOverheadBytes} of item overhead); nothing was sent.");
        }

        write = new GuardedWrite(client, target.Cluster, target.Key, key, value, ttl, delivery.Version);
        return null;
    }

    /// <summary>The expected failures of a write, as results; null for anything else (a bug, or the caller's own cancellation).</summary>
    private DeliveryResult? Classify(Exception error, string cluster, CancellationToken cancellationToken) => error switch
    {
        OperationCanceledException when !cancellationToken.IsCancellationRequested =>
            DeliveryResult.Retriable($"memcached cluster '{cluster}' did not answer within {_options.OperationTimeout.TotalMilliseconds} ms."),
        MemcachedConnectionException connection => DeliveryResult.Retriable(connection.Message),
        MemcachedConnectionReplacedException replaced => DeliveryResult.Retriable(replaced.Message),
        MemcachedServerErrorException server => Classify(server),
        MemcachedClientErrorException client => DeliveryResult.Permanent(client.Message),
        MemcachedItemTooLargeException tooLarge => DeliveryResult.Permanent(tooLarge.Message),
        _ => null,
    };

    private static DeliveryResult Classify(MemcachedServerErrorException error) =>
        error.IsPermanent ? DeliveryResult.Permanent(error.Message) : DeliveryResult.Retriable(error.Message);

    private async Task<DeliveryResult> WriteGuardedAsync(GuardedWrite write, CancellationToken cancellationToken)
    {
        var triedAdd = false;
        if (PlanFastWrite(write, out var generation) is { } fast)
        {
            try
            {
                var answer = await write.Client.SetAsync(write.Key, write.Value, fast, cancellationToken);
                if (OnFastAnswer(write, fast, generation, answer))
                {
                    return DeliveryResult.Delivered;
                }

                triedAdd = fast.Mode == MemcachedSetMode.Add;
            }
            catch (MemcachedConnectionReplacedException)
            {
                // The remembered token predates the connection (a restarted server?): read what is there instead.
            }
        }

        return await ReadCompareWriteAsync(write, triedAdd, cancellationToken);
    }

    /// <summary>
    /// The one-round-trip write to try before reading, if any: a compare-and-set on the CAS token
    /// this sink stored with an older version, or an add while the advisor says unknown keys are
    /// mostly missing. <paramref name="generation"/> is the client's, read before the write is sent.
    /// </summary>
    private MemcachedSetOptions? PlanFastWrite(GuardedWrite write, out long generation)
    {
        generation = write.Client.ConnectionGeneration;
        if (_written?[write.Cluster] is { } written && written.TryGet(write.KeyText, generation, out var lastVersion, out var lastCas))
        {
            return lastVersion < write.Version
                ? new MemcachedSetOptions { Ttl = write.Ttl, ClientFlags = VersionedValue.ClientFlags, CompareCas = lastCas, CasKnownAtGeneration = generation }
                : null;
        }

        // An add applies only to a missing key, and a missing key holds no version (deletes
        // leave tombstones), so it cannot overwrite anything; if the key exists, read and compare.
        return _addFirst[write.Cluster].ShouldAddFirst
            ? new MemcachedSetOptions { Ttl = write.Ttl, ClientFlags = VersionedValue.ClientFlags, Mode = MemcachedSetMode.Add }
            : null;
    }

    /// <summary>Learns from a fast write's answer; true when it stored the delivery.</summary>
    private bool OnFastAnswer(GuardedWrite write, MemcachedSetOptions fast, long generation, MemcachedStoreResult answer)
    {
        var isAdd = fast.Mode == MemcachedSetMode.Add;
        if (answer.Status == MemcachedStoreStatus.Stored)
        {
            if (isAdd)
            {
                _addFirst[write.Cluster].FoundMissing();
            }

            _written?[write.Cluster].Remember(write.KeyText, generation, write.Version, answer.Cas);
            return true;
        }

        if (isAdd)
        {
            _addFirst[write.Cluster].FoundExisting();
        }
        else
        {
            _written?[write.Cluster].Forget(write.KeyText);
        }

        return false;
    }

    private async Task<DeliveryResult> ReadCompareWriteAsync(GuardedWrite write, bool triedAdd, CancellationToken cancellationToken)
    {
        var generation = write.Client.ConnectionGeneration;
        for (var attempt = 0; attempt < _options.MaxCasAttempts; attempt++)
        {
            // Before the mg: the token it reads holds on the connections open before it was sent, not on one opened
            // after (a restarted server counts tokens from 1 again). Taken once the mg was answered, the generation
            // let through a connection opened in between, and an older version overwrote a newer one.
            var readAt = write.Client.ConnectionGeneration;
            var current = await write.Client.GetAsync(write.Key, cancellationToken);
            if (attempt == 0 && !triedAdd)
            {
                NoteFound(write.Cluster, current is not null);
            }

            var setOptions = new MemcachedSetOptions { Ttl = write.Ttl, ClientFlags = VersionedValue.ClientFlags, Mode = MemcachedSetMode.Add };
            if (current is not null)
            {
                if (VersionedValue.TryDecode(current.ClientFlags, current.Value, out var stored, out _, out _))
                {
                    if (stored > write.Version)
                    {
                        return DeliveryResult.Superseded;
                    }

                    if (stored == write.Version)
                    {
                        return DeliveryResult.Delivered;
                    }
                }

                if (current.Cas == 0)
                {
                    // memcached run with -C answers every token as 0, and a compare on 0 is no compare:
                    // the set would replace whatever another writer stored since the read.
                    return DeliveryResult.Permanent(
                        $"memcached cluster '{write.Cluster}' keeps no CAS tokens (run with -C, --disable-cas?): key '{write.KeyText}' holds an " +
                        "older version, and the version guard cannot replace it without a compare-and-set; nothing was written.");
                }

                setOptions = setOptions with { Mode = MemcachedSetMode.Set, CompareCas = current.Cas, CasKnownAtGeneration = readAt };
            }

            MemcachedStoreResult result;
            try
            {
                result = await write.Client.SetAsync(write.Key, write.Value, setOptions, cancellationToken);
            }
            catch (MemcachedConnectionReplacedException)
            {
                continue;
            }

            if (result.Status == MemcachedStoreStatus.Stored)
            {
                _written?[write.Cluster].Remember(write.KeyText, generation, write.Version, result.Cas);
                return DeliveryResult.Delivered;
            }

            // NotStored (someone added first), Exists (changed since read) or NotFound (expired or
            // evicted since read): read again and decide on what is there now.
        }

        return DeliveryResult.Retriable($"memcached key '{write.KeyText}' kept changing during {_options.MaxCasAttempts} compare-and-set attempts.");
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

    /// <summary>One delivery's write, worked out: the cluster's client, the encoded key and the versioned value.</summary>
    private readonly record struct GuardedWrite(MemcachedClient Client, string Cluster, string KeyText, byte[] Key, byte[] Value, TimeSpan Ttl, long Version);
}
