namespace Wal.Sinks.Memcached;

/// <summary>Delivering a sequence of writes with one round trip per client where it can.</summary>
public sealed partial class MemcachedSink
{
    /// <summary>
    /// Delivers in list order, pipelining: the leading deliveries that have a one-round-trip write
    /// (an add for a key the sink knows nothing about, or a compare-and-set on a CAS it stored) and
    /// distinct keys are sent back to back, one pipelined request per client (clusters on the same
    /// servers share one); then their answers are read in list order, and one that did not store
    /// (the key exists, or changed) goes on through read-compare-write before the next answer is
    /// looked at. A delivery with no such write, or repeating a key of the batch, ends the batch; the
    /// next batch is sent only once this one is settled.
    /// </summary>
    /// <remarks>
    /// Why every key still ends as if written one at a time: an add or compare-and-set decides on
    /// its own, atomically in memcached, whatever ran before it; a key appears at most once in a
    /// batch, so no write of that key overtakes another; and a fallback runs only after its own
    /// fast write was answered. Writes of different keys may land out of list order, which the
    /// contract allows. The version guard is the one <see cref="DeliverAsync"/> applies.
    /// </remarks>
    public async ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        var results = new List<DeliveryResult>(deliveries.Count);
        var batch = new List<PlannedWrite>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var at = 0;
        while (at < deliveries.Count)
        {
            TakeBatch(deliveries, at, batch, keys);
            if (batch.Count <= 1)
            {
                // Nothing to overlap: the plain path is the same write without the batch's bookkeeping.
                var result = await DeliverAsync(deliveries[at], cancellationToken);
                results.Add(result);
                at++;
                if (!result.Succeeded)
                {
                    return results;
                }

                continue;
            }

            at += batch.Count;
            if (!await DeliverBatchAsync(batch, results, cancellationToken))
            {
                return results;
            }
        }

        return results;
    }

    /// <summary>The longest run from <paramref name="at"/> whose writes can share a round trip.</summary>
    private void TakeBatch(IReadOnlyList<Delivery> deliveries, int at, List<PlannedWrite> batch, HashSet<string> keys)
    {
        batch.Clear();
        keys.Clear();
        for (var i = at; i < deliveries.Count; i++)
        {
            // Keys are compared across clusters too: two clusters may share a server, and their
            // clients' connections keep no order between them.
            if (Prepare(deliveries[i] ?? throw new ArgumentException($"Delivery {i} is null.", nameof(deliveries)), out var write) is not null
                || !keys.Add(write.KeyText)
                || PlanFastWrite(write, out var generation) is not { } fast)
            {
                return;
            }

            batch.Add(new PlannedWrite(write, fast, generation));
        }
    }

    /// <summary>Sends a batch's fast writes, then settles each in order; false at the first failure (its result added last).</summary>
    private async Task<bool> DeliverBatchAsync(List<PlannedWrite> batch, List<DeliveryResult> results, CancellationToken cancellationToken)
    {
        // Each write gets the time one delivery of it would: a single deadline for the whole batch timed out every
        // attempt of a large mutation (hundreds of chunks, or big values) although its writes landed, until it was
        // dead-lettered. The caller's token still bounds the whole call.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(DeliveryBudget.ForEach(_options.OperationTimeout, batch.Count));
        var byClient = new Dictionary<MemcachedClient, (List<PipelinedSet> Sets, List<int> Indexes)>();
        for (var i = 0; i < batch.Count; i++)
        {
            var (write, fast, _) = batch[i];
            if (!byClient.TryGetValue(write.Client, out var group))
            {
                byClient[write.Client] = group = ([], []);
            }

            group.Sets.Add(new PipelinedSet(write.Key, write.Value, fast));
            group.Indexes.Add(i);
        }

        var sends = byClient.ToDictionary(c => c.Key, c => c.Key.SetInOrderAsync(c.Value.Sets, deadline.Token));
        try
        {
            await Task.WhenAll(sends.Values);
        }
        catch (Exception error) when (Classify(error, "?", cancellationToken) is not null)
        {
            // Looked at per client below: the writes of the clients that answered still count.
        }

        var answers = new PipelinedSetResult[batch.Count];
        foreach (var (client, group) in byClient)
        {
            if (sends[client].IsCompletedSuccessfully)
            {
                var clientAnswers = sends[client].Result;
                for (var j = 0; j < clientAnswers.Length; j++)
                {
                    answers[group.Indexes[j]] = clientAnswers[j];
                }
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            var result = await SettleAsync(batch[i], answers[i], sends[batch[i].Write.Client], cancellationToken);
            results.Add(result);
            if (!result.Succeeded)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One batched write's outcome: its answer, or its client's failure, or read-compare-write when the fast write did not store.</summary>
    private async Task<DeliveryResult> SettleAsync(PlannedWrite planned, PipelinedSetResult answer, Task<PipelinedSetResult[]> send, CancellationToken cancellationToken)
    {
        var (write, fast, generation) = planned;
        var triedAdd = false;
        if (send.IsCompletedSuccessfully)
        {
            if (answer.Error is MemcachedConnectionReplacedException)
            {
                // Not sent (its server's connection is newer than a remembered token): read and compare, below.
            }
            else if (answer.Error is { } error)
            {
                return Classify(error, write.Cluster, cancellationToken) ?? throw error;
            }
            else if (OnFastAnswer(write, fast, generation, answer.Result))
            {
                return DeliveryResult.Delivered;
            }
            else
            {
                triedAdd = fast.Mode == MemcachedSetMode.Add;
            }
        }
        else if (send.Exception?.InnerException is not MemcachedConnectionReplacedException)
        {
            // (Not sent because a remembered token predates the connection, a restarted server maybe: read and compare.)
            var error = send.Exception?.InnerException ?? new OperationCanceledException();
            return Classify(error, write.Cluster, cancellationToken) ?? throw error;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_operationDeadline);
        try
        {
            return await ReadCompareWriteAsync(write, triedAdd, deadline.Token);
        }
        catch (Exception error) when (Classify(error, write.Cluster, cancellationToken) is { } failure)
        {
            return failure;
        }
    }

    /// <summary>A batched delivery: its write, the fast write planned for it, and the connection generation read before planning.</summary>
    private readonly record struct PlannedWrite(GuardedWrite Write, MemcachedSetOptions Fast, long Generation);
}
