using System.Globalization;
using System.Text;
using Wal.Sinks.Memcached.Protocol;

namespace Wal.Sinks.Memcached;

/// <summary>
/// A memcached client over the meta protocol (<c>mg</c>, <c>ms</c>, <c>md</c>, <c>mn</c>). Thread-safe;
/// concurrent calls share a few pipelined connections per server. Expected answers (miss, not
/// stored, CAS mismatch) are return values; failures throw a <see cref="MemcachedException"/>
/// named by what recovers from it. Cancel a call through its token to bound its time.
/// </summary>
public sealed class MemcachedClient : IAsyncDisposable
{
    // Above this many seconds memcached reads an expiry as an absolute Unix time.
    private const long MaxRelativeTtlSeconds = 60 * 60 * 24 * 30;
    private readonly MemcachedServer[] _servers;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _unresponsiveAfter;
    private long _connectionGeneration;

    public MemcachedClient(MemcachedClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _unresponsiveAfter = options.UnresponsiveAfter;
        _servers = [.. options.Servers.Select(s => new MemcachedServer(
            MemcachedClientOptions.ParseEndPoint(s), options.ConnectionsPerServer, options.ConnectTimeout, () => Interlocked.Increment(ref _connectionGeneration)))];
    }

    /// <summary>
    /// Counts the connections opened so far. A server restart (which resets its CAS counter and
    /// empties it) always costs a new connection, so a CAS token read at one generation may be
    /// trusted only while the generation has not moved.
    /// </summary>
    internal long ConnectionGeneration => Interlocked.Read(ref _connectionGeneration);

    /// <summary>Reads an item with its flags and CAS token; null on a miss.</summary>
    public Task<MemcachedItem?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        GetAsync(MemcachedKey.Encode(key), cancellationToken);

    /// <summary>As <see cref="GetAsync(string, CancellationToken)"/>, for a key already checked and encoded by <see cref="MemcachedKey.Encode"/>.</summary>
    internal async Task<MemcachedItem?> GetAsync(byte[] keyBytes, CancellationToken cancellationToken)
    {
        var response = await SendAsync(keyBytes, MetaCommand.Get(keyBytes, "v f c"), cancellationToken);
        return response.Status switch
        {
            MetaStatus.Value => new MemcachedItem(response.Value!, response.ClientFlags, response.Cas),
            MetaStatus.Miss => null,
            _ => throw Unexpected("mg", response),
        };
    }

    /// <summary>
    /// Stores an item; the status says whether the mode's or the CAS condition held. An item above the server's own
    /// limit is not sent: <see cref="MemcachedItemTooLargeException"/>.
    /// </summary>
    public Task<MemcachedStoreResult> SetAsync(
        string key, ReadOnlyMemory<byte> value, MemcachedSetOptions? options = null, CancellationToken cancellationToken = default) =>
        SetAsync(MemcachedKey.Encode(key), value, options ?? MemcachedSetOptions.Default, cancellationToken);

    /// <summary>As <see cref="SetAsync(string, ReadOnlyMemory{byte}, MemcachedSetOptions?, CancellationToken)"/>, for an encoded key.</summary>
    internal async Task<MemcachedStoreResult> SetAsync(byte[] keyBytes, ReadOnlyMemory<byte> value, MemcachedSetOptions options, CancellationToken cancellationToken)
    {
        var response = await SendAsync(keyBytes, MetaCommand.Set(keyBytes, value, SetFlags(options) + " c"), cancellationToken, options.CasKnownAtGeneration);
        return new MemcachedStoreResult(StoreStatus("ms", response), response.Cas);
    }

    /// <summary>
    /// Stores items in list order without waiting between them: the items of one server go in one
    /// pipelined request on one connection, which memcached runs in order, so writes of one key
    /// take effect in list order; different servers are written concurrently. One round trip per
    /// server, and every item's answer (with its CAS token when stored) comes back. A
    /// <c>SERVER_ERROR</c> is that item's result alone, as is an item above the server's limit, which is not sent. With
    /// one server, a connection failure fails the whole call; with several, a server that cannot be reached fails its
    /// own items, each with the error, and the others' answers stand.
    /// </summary>
    internal async Task<PipelinedSetResult[]> SetInOrderAsync(IReadOnlyList<PipelinedSet> items, CancellationToken cancellationToken)
    {
        var results = new PipelinedSetResult[items.Count];
        if (items.Count == 0)
        {
            return results;
        }

        if (_servers.Length == 1)
        {
            await SetOnServerAsync(0, items, null, results, cancellationToken);
            return results;
        }

        var byServer = new Dictionary<int, (List<PipelinedSet> Items, List<int> Indexes)>();
        for (var i = 0; i < items.Count; i++)
        {
            var server = ServerIndex(items[i].Key);
            if (!byServer.TryGetValue(server, out var group))
            {
                byServer[server] = group = ([], []);
            }

            group.Items.Add(items[i]);
            group.Indexes.Add(i);
        }

        await Task.WhenAll(byServer.Select(g => SetOnServerOrFailItsItemsAsync(g.Key, g.Value.Items, g.Value.Indexes, results, cancellationToken)));
        return results;
    }

    /// <summary>Deletes an item, only if its CAS token still equals <paramref name="compareCas"/> when that is non-zero.</summary>
    public async Task<MemcachedStoreStatus> DeleteAsync(string key, ulong compareCas = 0, CancellationToken cancellationToken = default)
    {
        var keyBytes = MemcachedKey.Encode(key);
        var flags = compareCas == 0 ? string.Empty : "C" + compareCas.ToString(CultureInfo.InvariantCulture);
        var response = await SendAsync(keyBytes, MetaCommand.Delete(keyBytes, flags), cancellationToken);
        return StoreStatus("md", response);
    }

    /// <summary>
    /// Stores many items in quiet mode: one round trip per server, and the server answers only the
    /// items it did not store. Returns those, by index. An item above its server's limit is not sent
    /// and fails at its index; a <c>SERVER_ERROR</c> names no item (index -1). A connection failure
    /// fails the whole call, with some items stored and no way to tell which.
    /// </summary>
    public async Task<IReadOnlyList<MemcachedBatchFailure>> SetManyAsync(
        IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> items, MemcachedSetOptions? options = null, CancellationToken cancellationToken = default)
    {
        var flags = SetFlags(options ?? MemcachedSetOptions.Default);
        var byServer = new Dictionary<int, List<int>>();
        var commands = new MetaCommand[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var keyBytes = MemcachedKey.Encode(items[i].Key);
            var server = ServerIndex(keyBytes);
            if (!byServer.TryGetValue(server, out var indexes))
            {
                byServer[server] = indexes = [];
            }

            commands[i] = MetaCommand.Set(keyBytes, items[i].Value, flags);
            indexes.Add(i);
        }

        var failures = new List<MemcachedBatchFailure>();
        foreach (var (server, indexes) in byServer)
        {
            var connection = await _servers[server].GetConnectionAsync(cancellationToken);
            var sent = new List<int>(indexes.Count);
            foreach (var i in indexes)
            {
                if (connection.Fits(commands[i]))
                {
                    sent.Add(i);
                }
                else
                {
                    failures.Add(new MemcachedBatchFailure(i, TooLarge(connection, commands[i]).Message));
                }
            }

            var request = new QuietBatchRequest([.. sent.Select(i => commands[i])]);
            connection.Send(request);
            foreach (var (index, response) in await WaitAsync(connection, request.Completion, cancellationToken))
            {
                failures.Add(new MemcachedBatchFailure(index < 0 ? -1 : sent[index], Describe(response)));
            }
        }

        return failures;
    }

    /// <summary>Round-trips <c>mn</c> to every server: proves they answer.</summary>
    public async Task NoOpAsync(CancellationToken cancellationToken = default)
    {
        foreach (var server in _servers)
        {
            var request = new QuietBatchRequest([]);
            var connection = await server.GetConnectionAsync(cancellationToken);
            connection.Send(request);
            await WaitAsync(connection, request.Completion, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    private async Task<MetaResponse> SendAsync(byte[] key, MetaCommand command, CancellationToken cancellationToken, long? casKnownAtGeneration = null)
    {
        var request = new SingleRequest(command);
        var connection = await _servers[ServerIndex(key)].GetConnectionAsync(cancellationToken);
        CheckCasStillValid(connection, casKnownAtGeneration);
        if (!connection.Fits(command))
        {
            throw TooLarge(connection, command);
        }

        connection.Send(request);
        // A cancelled caller stops waiting; the response still arrives and is dropped in order.
        var response = await WaitAsync(connection, request.Completion, cancellationToken);
        return response.Status == MetaStatus.ServerError
            ? throw new MemcachedServerErrorException(response.ErrorMessage ?? "unknown")
            : response;
    }

    private async Task SetOnServerAsync(int server, IReadOnlyList<PipelinedSet> items, List<int>? indexes, PipelinedSetResult[] results, CancellationToken cancellationToken)
    {
        var connection = await _servers[server].GetConnectionAsync(cancellationToken);
        CheckCasStillValid(connection, items.Min(i => i.Options.CasKnownAtGeneration));
        var commands = new List<MetaCommand>(items.Count);
        var sent = new List<int>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var command = MetaCommand.Set(items[i].Key, items[i].Value, SetFlags(items[i].Options) + " c");
            if (connection.Fits(command))
            {
                commands.Add(command);
                sent.Add(i);
            }
            else
            {
                results[indexes?[i] ?? i] = new PipelinedSetResult(default, TooLarge(connection, command));
            }
        }

        if (commands.Count == 0)
        {
            return;
        }

        var request = new PipelinedRequest(commands);
        connection.Send(request);
        MetaResponse[] responses;
        try
        {
            // A cancelled caller stops waiting; the responses still arrive and are dropped in order.
            responses = await WaitWatchingAsync(connection, request.Completion, cancellationToken);
        }
        catch (PipelineFailedException failed)
        {
            // The commands answered before the failure each keep their answer; the one that met it gets its error (a
            // CLIENT_ERROR, or the lost connection), and those after it were not answered. Failing them all with the
            // error reported a stored item as refused, and put the wrong command in a mutation's dead letter.
            responses = failed.Answered;
            var error = failed.InnerException as MemcachedException ?? new MemcachedConnectionException(failed.Message, failed.InnerException);
            for (var j = responses.Length; j < sent.Count; j++)
            {
                var i = sent[j];
                results[indexes?[i] ?? i] = new PipelinedSetResult(default, j == responses.Length
                    ? error
                    : new MemcachedConnectionException($"Not answered: an earlier command of its batch met an error ({failed.Message}) and the connection was closed.", failed.InnerException));
            }
        }

        for (var j = 0; j < responses.Length; j++)
        {
            var response = responses[j];
            var i = sent[j];
            results[indexes?[i] ?? i] = response.Status == MetaStatus.ServerError
                ? new PipelinedSetResult(default, new MemcachedServerErrorException(response.ErrorMessage ?? "unknown"))
                : new PipelinedSetResult(new MemcachedStoreResult(StoreStatus("ms", response), response.Cas), null);
        }
    }

    // One server of several that cannot take its part (down, or reached over a connection opened after a CAS token to
    // compare was known) fails its own items: the other servers' writes went out and were answered. Failing the whole
    // call reported them as refused, so a mutation whose later chunk lived on a down server was stopped at its first
    // chunk with that server's error, and the chunks it had stored were not counted as applied.
    private async Task SetOnServerOrFailItsItemsAsync(int server, List<PipelinedSet> items, List<int> indexes, PipelinedSetResult[] results, CancellationToken cancellationToken)
    {
        try
        {
            await SetOnServerAsync(server, items, indexes, results, cancellationToken);
        }
        catch (MemcachedException error) when (error is MemcachedConnectionException or MemcachedConnectionReplacedException)
        {
            foreach (var i in indexes)
            {
                results[i] = new PipelinedSetResult(default, error);
            }
        }
    }

    // The answer, or the caller's cancellation; a caller giving up on a server that has answered
    // nothing for a while closes the connection, so abandoned requests do not pile up on it.
    private async Task<T> WaitAsync<T>(MemcachedConnection connection, Task<T> answer, CancellationToken cancellationToken)
    {
        try
        {
            return await answer.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (!answer.IsCompleted)
        {
            connection.CloseIfUnresponsive(_unresponsiveAfter);
            throw;
        }
    }

    // For a pipelined request, whose caller's budget grows with its size (a sink gives each write its own OperationTimeout):
    // every UnresponsiveAfter it also checks the server itself. Left to the caller's timeout alone, a frozen server held a
    // 40-write mutation for 40 s at each attempt, and the stream thread applying it with it, where a single write gives up
    // after one OperationTimeout. Every command of such a request is answered, so a silent server is not busy with it.
    private async Task<T> WaitWatchingAsync<T>(MemcachedConnection connection, Task<T> answer, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await answer.WaitAsync(_unresponsiveAfter, cancellationToken);
            }
            catch (TimeoutException) when (!answer.IsCompleted)
            {
                // Closed, the connection fails the request, and the next turn of the loop throws that.
                connection.CloseIfUnresponsive(_unresponsiveAfter);
            }
            catch (OperationCanceledException) when (!answer.IsCompleted)
            {
                connection.CloseIfUnresponsive(_unresponsiveAfter);
                throw;
            }
        }
    }

    // Sent, it would fail with SERVER_ERROR and memcached would also drop the key's stored item.
    private static MemcachedItemTooLargeException TooLarge(MemcachedConnection connection, in MetaCommand command) =>
        new($"The item for key '{Encoding.UTF8.GetString(command.Key)}' would take {command.Key.Length + command.Value.Length} bytes, too large for " +
            $"memcached at {connection.EndPoint} (its item_size_max {connection.ItemSizeMax}, less {ItemSize.OverheadBytes} of item overhead); nothing was sent.");

    private static void CheckCasStillValid(MemcachedConnection connection, long? casKnownAtGeneration)
    {
        if (connection.Generation > casKnownAtGeneration)
        {
            throw new MemcachedConnectionReplacedException(
                $"The connection to memcached at {connection.EndPoint} was opened after a CAS token to compare was known; it was not sent.");
        }
    }

    private int ServerIndex(byte[] key) => _servers.Length == 1 ? 0 : JumpHash(Fnv1a(key), _servers.Length);

    private string SetFlags(MemcachedSetOptions options)
    {
        var mode = options.Mode switch
        {
            MemcachedSetMode.Add => " ME",
            MemcachedSetMode.Replace => " MR",
            _ => string.Empty,
        };
        var ttl = TtlSeconds(options.Ttl);
        return (options.ClientFlags, options.CompareCas) switch
        {
            (0, 0) => string.Create(CultureInfo.InvariantCulture, $"T{ttl}{mode}"),
            (_, 0) => string.Create(CultureInfo.InvariantCulture, $"T{ttl} F{options.ClientFlags}{mode}"),
            (0, _) => string.Create(CultureInfo.InvariantCulture, $"T{ttl} C{options.CompareCas}{mode}"),
            _ => string.Create(CultureInfo.InvariantCulture, $"T{ttl} F{options.ClientFlags} C{options.CompareCas}{mode}"),
        };
    }

    private long TtlSeconds(TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero)
        {
            return 0;
        }

        // Round up: a TTL below one second must not become 0, which means "never expires".
        var seconds = (long)Math.Ceiling(ttl.TotalSeconds);
        // Past 30 days memcached reads an absolute time, as a signed 32-bit number: one past
        // 2038-01-19 wrapped negative, and the item was stored already expired (answered HD). The
        // latest time it can hold is the closest it can come to a longer TTL.
        return seconds <= MaxRelativeTtlSeconds ? seconds : Math.Min(_timeProvider.GetUtcNow().ToUnixTimeSeconds() + seconds, int.MaxValue);
    }

    private static MemcachedStoreStatus StoreStatus(string verb, MetaResponse response) => response.Status switch
    {
        MetaStatus.Header => MemcachedStoreStatus.Stored,
        MetaStatus.NotStored => MemcachedStoreStatus.NotStored,
        MetaStatus.Exists => MemcachedStoreStatus.Exists,
        MetaStatus.NotFound => MemcachedStoreStatus.NotFound,
        _ => throw Unexpected(verb, response),
    };

    private static string Describe(MetaResponse response) => response.Status switch
    {
        MetaStatus.ServerError => "SERVER_ERROR " + response.ErrorMessage,
        MetaStatus.NotStored => "NS",
        MetaStatus.Exists => "EX",
        MetaStatus.NotFound => "NF",
        _ => response.Status.ToString(),
    };

    private static MemcachedConnectionException Unexpected(string verb, MetaResponse response) =>
        new($"memcached answered {verb} with {response.Status}, which {verb} never returns.");

    private static ulong Fnv1a(ReadOnlySpan<byte> key)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in key)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    // Lamping and Veach's jump consistent hash: adding a server moves only 1/n of the keys.
    private static int JumpHash(ulong key, int buckets)
    {
        long b = -1, j = 0;
        while (j < buckets)
        {
            b = j;
            key = (key * 2862933555777941757UL) + 1;
            j = (long)((b + 1) * (double)(1L << 31) / ((key >> 33) + 1));
        }

        return (int)b;
    }
}
