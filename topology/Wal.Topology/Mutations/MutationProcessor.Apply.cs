using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Streams.State;
using CarriedHeaders = Wal.Topology.Dispatch.CarriedHeaders;
using DeadLetterHeaders = Wal.Topology.Dispatch.DeadLetterHeaders;
using DeadLetterReasons = Wal.Topology.Dispatch.DeadLetterReasons;
using DeliveryAttemptOutcome = Wal.Topology.Dispatch.DeliveryAttemptOutcome;
using Wal.Topology.Retry;
using Wal.Topology.State;

namespace Wal.Topology.Mutations;

/// <summary>Applying a complete mutation, and giving one up to the dead-letter topic.</summary>
public sealed partial class MutationProcessor
{
    /// <summary>
    /// Whether the stored chunks hold every sequence from <paramref name="from"/> (the mutation's next to apply) up to
    /// <paramref name="chunkCount"/>: the mutation is complete. Chunks below it were applied, and may be gone.
    /// </summary>
    private static bool ChunksPresent(List<(byte[] Key, byte[] Value)> stored, uint from, uint chunkCount)
    {
        var expected = from;
        foreach (var (key, _) in stored)
        {
            var sequence = ChunkKey.Sequence(key);
            if (sequence < from)
            {
                continue;
            }

            if (sequence >= chunkCount || sequence != expected)
            {
                break;
            }

            expected++;
        }

        return expected >= chunkCount;
    }

    /// <summary>
    /// Every stored chunk of the mutation, in sequence order, with its key, unparsed: one scan serves
    /// the completeness check, the apply (which parses only the chunks it delivers) and the delete.
    /// </summary>
    private List<(byte[] Key, byte[] Value)> ReadStoredChunks(string requestId)
    {
        var chunks = new List<(byte[] Key, byte[] Value)>();
        using var scan = Chunks.Range(ChunkKey.From(requestId, 0), ChunkKey.End(requestId));
        while (scan.MoveNext())
        {
            if (ChunkKey.Belongs(scan.Key, requestId))
            {
                chunks.Add((scan.Key.ToArray(), scan.Value.ToArray()));
            }
        }

        return chunks;
    }

    /// <summary>
    /// Applies the chunks from <see cref="MutationProgress.NextSequence"/> on, in sequence order;
    /// <paramref name="dueAtMs"/> is when this attempt was due (the mutation found complete, or its retry's timer), and
    /// <paramref name="stored"/> is the mutation's chunks when the caller has just read them.
    /// </summary>
    private async ValueTask ApplyAsync(MutationProgress progress, long dueAtMs, List<(byte[] Key, byte[] Value)>? stored = null)
    {
        stored ??= ReadStoredChunks(progress.RequestId);
        // Read once: the chunks' deliveries and their metrics' sink label come from the same definition, even if a
        // reload changes the default target during the attempt. A retry keeps the target its first attempt applied
        // chunks to: the rest of the mutation goes where they went.
        var defaultTarget = progress.RetryTarget ?? Config().DefaultTarget;
        var attempt = new ChunkAttempts(_metrics, _namespace, defaultTarget?.DestinationCase ?? Target.DestinationOneofCase.None, dueAtMs);
        var failure = await DeliverChunksAsync(progress, stored, defaultTarget, attempt);
        progress.Attempts++;
        if (failure is not { } failed)
        {
            var (inRange, beyond) = SplitAtCount(progress, stored);
            progress.State = MutationState.Applied;
            if (await ForwardBeyondCountAsync(progress, beyond))
            {
                await Context.FlushAsync();
                _metrics.DeadLettered(_namespace, MutationDeadLetterHeaders.BeyondCount);
            }

            FinishChunks(progress, inRange, beyond);
            SaveWithTimer(progress, Now() + (long)Expiry().TotalMilliseconds);
            LogApplied(_logger, _namespace, progress.RequestId, progress.ChunkCount, progress.Attempts);
            return;
        }

        progress.LastError = RecordLimits.BoundError(failed.Error ?? failed.Outcome.ToString());
        var policy = new BackoffPolicy(Config().Retry);
        if (failed.Outcome != DeliveryOutcome.PermanentFailure && policy.CanRetry(progress.Attempts))
        {
            var wait = policy.Delay(progress.Attempts, Random.Shared.NextDouble(), failed.RetryAfter);
            attempt.Stopped(DeliveryAttemptOutcome.Retried);
            progress.State = MutationState.Retrying;
            progress.RetryTarget = defaultTarget;
            SaveWithTimer(progress, Now() + (long)wait.TotalMilliseconds);
            LogRetrying(_logger, _namespace, progress.RequestId, progress.NextSequence, progress.Attempts, wait.TotalMilliseconds, progress.LastError);
            return;
        }

        attempt.Stopped(DeliveryAttemptOutcome.DeadLettered);
        progress.DeadLetterHoldsEveryChunk = true;
        await DeadLetterAsync(progress, failed.Outcome == DeliveryOutcome.PermanentFailure ? DeadLetterReasons.Permanent : DeadLetterReasons.Retriable, stored);
    }

    /// <summary>
    /// Hands the unapplied chunks to the sink as one ordered call (a sink may pipeline them) and
    /// moves <see cref="MutationProgress.NextSequence"/> past the ones it confirmed; the first
    /// failure, if any. A chunk that has no delivery fails permanently where it stands. The confirmed chunks are counted
    /// on <paramref name="attempt"/>; the caller counts the failed one once it knows whether a retry follows.
    /// </summary>
    private async ValueTask<DeliveryResult?> DeliverChunksAsync(MutationProgress progress, List<(byte[] Key, byte[] Value)> stored, Target? defaultTarget, ChunkAttempts attempt)
    {
        var deliveries = new List<Delivery>(stored.Count);
        var sequences = new List<uint>(stored.Count);
        DeliveryResult? refused = null;
        foreach (var (key, value) in stored)
        {
            var sequence = ChunkKey.Sequence(key);
            if (sequence < progress.NextSequence)
            {
                continue; // applied by an earlier attempt
            }

            if (sequence >= progress.ChunkCount)
            {
                break;
            }

            if (ChunkDelivery.From(MutationChunk.Parser.ParseFrom(value), defaultTarget, out var error) is not { } delivery)
            {
                refused = DeliveryResult.Permanent(error!);
                break;
            }

            deliveries.Add(delivery);
            sequences.Add(sequence);
        }

        var results = deliveries.Count == 0 ? [] : await DeliverInOrderAsync(deliveries);
        attempt.Answered(Now());
        for (var i = 0; i < results.Count; i++)
        {
            if (!results[i].Succeeded)
            {
                return results[i];
            }

            attempt.Confirmed(results[i].Outcome);
            progress.NextSequence = sequences[i] + 1;
        }

        // A sink answers every delivery unless one fails; fewer answers without a failure is a broken sink.
        return results.Count < deliveries.Count
            ? DeliveryResult.Retriable($"the sink answered {results.Count} of {deliveries.Count} chunk(s) without a failure")
            : refused;
    }

    private async ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(List<Delivery> deliveries)
    {
        // Each chunk keeps the budget it had when chunks went one call each: a sink that takes them
        // one at a time must not time out on a long mutation that it is working through.
        var budget = DeliveryBudget.ForEach(_options.DeliveryTimeout, deliveries.Count);
        _timeout.CancelAfter(budget);
        try
        {
            return await _sink.DeliverInOrderAsync(deliveries, _timeout.Token);
        }
        catch (OperationCanceledException) when (_timeout.IsCancellationRequested)
        {
            return [DeliveryResult.Retriable($"no answer from the target for {deliveries.Count} chunk(s) within {budget.TotalSeconds:0.###} s")];
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A cancellation of the sink's own counts here too (an HttpClient timeout is a TaskCanceledException): the
            // timeout's token is the only one the sink is given, so nothing here asked for it.
            LogSinkThrew(_logger, e, _namespace, deliveries.Count);
            return [DeliveryResult.Threw(e)];
        }
        finally
        {
            if (!_timeout.TryReset())
            {
                _timeout.Dispose();
                _timeout = new CancellationTokenSource();
            }
        }
    }

    private async ValueTask DeadLetterAsync(MutationProgress progress, string reason, List<(byte[] Key, byte[] Value)>? stored = null)
    {
        // Chunks past the marker's count are no part of the mutation: they go in a dead letter of their own, so a redrive
        // of this one puts back the mutation the marker described.
        var (chunks, beyond) = SplitAtCount(progress, stored ?? ReadStoredChunks(progress.RequestId));
        progress.ChunksStored = (uint)chunks.Count;
        LogDeadLettered(_logger, _namespace, progress.RequestId, reason, progress.Attempts, progress.LastError);
        await ForwardDeadMutationAsync(progress, reason, chunks);
        var apart = await ForwardBeyondCountAsync(progress, beyond);

        // The chunks go next, and with them the only other copy: the dead letters must be in Kafka first. Sent
        // but unacknowledged, one could fail after the deletes reached the changelog, and a restart would restore
        // a mutation given up with nothing in the dead-letter topic.
        await Context.FlushAsync();
        progress.State = MutationState.DeadLettered;
        FinishChunks(progress, chunks, beyond);
        SaveWithTimer(progress, Now() + (long)Expiry().TotalMilliseconds);
        // One per mutation, however many parts its chunks took.
        _metrics.DeadLettered(_namespace, reason);
        if (apart)
        {
            _metrics.DeadLettered(_namespace, MutationDeadLetterHeaders.BeyondCount);
        }
    }

    /// <summary>
    /// The stored chunks below the marker's count, and those at or past it (a writer's error, no part of the mutation). All
    /// are below it while the count is unknown.
    /// </summary>
    private static (List<(byte[] Key, byte[] Value)> InRange, List<(byte[] Key, byte[] Value)> Beyond) SplitAtCount(
        MutationProgress progress, List<(byte[] Key, byte[] Value)> stored) =>
        progress.ChunkCount == 0
            ? (stored, [])
            : (stored.Where(c => ChunkKey.Sequence(c.Key) < progress.ChunkCount).ToList(), stored.Where(c => ChunkKey.Sequence(c.Key) >= progress.ChunkCount).ToList());

    /// <summary>
    /// Sends the chunks stored past the marker's count to the dead-letter topic, reason
    /// <see cref="MutationDeadLetterHeaders.BeyondCount"/>, once the mutation is applied or given up and before its chunks
    /// are deleted: the writer was told each was durable, and the store is their only copy once the input is committed.
    /// True when there were any: the caller flushes them (with the mutation's own dead letter, when it has one in the
    /// same flush) before the deletes, and counts them once flushed.
    /// </summary>
    private async ValueTask<bool> ForwardBeyondCountAsync(MutationProgress progress, List<(byte[] Key, byte[] Value)> beyond)
    {
        if (beyond.Count == 0)
        {
            return false;
        }

        var piece = progress.Clone();
        piece.ChunksStored = (uint)beyond.Count;
        piece.LastError = RecordLimits.BoundError(
            $"chunk(s) {string.Join(", ", beyond.Select(c => ChunkKey.Sequence(c.Key)))} past the completion marker's count of {progress.ChunkCount}: "
            + $"no part of the mutation, which {(progress.State == MutationState.Applied ? "was applied" : "went to the dead-letter topic")} without them");
        LogDeadLettered(_logger, _namespace, progress.RequestId, MutationDeadLetterHeaders.BeyondCount, progress.Attempts, piece.LastError);
        await ForwardDeadMutationAsync(piece, MutationDeadLetterHeaders.BeyondCount, beyond);
        return true;
    }

    /// <summary>
    /// A chunk or marker that goes to the dead-letter topic alone, after its mutation, with its record's own headers:
    /// reason <see cref="MutationDeadLetterHeaders.Late"/> for a piece of a mutation already dead-lettered,
    /// <see cref="MutationDeadLetterHeaders.BeyondCount"/> for a chunk past the count of one applied. Once Kafka has it, the store records
    /// that it went (a chunk as an empty value under its key, which the dead-lettered mutation's chunks no longer use; a
    /// marker as the progress's count), so a writer's retry of the piece, or its replay after a crash or a rebalance,
    /// is not dead-lettered again. Recorded before Kafka had the dead letter, a piece whose dead letter then failed would
    /// be ignored when replayed, and lost; a crash between the two still sends it twice.
    /// </summary>
    private async ValueTask DeadLetterPieceAsync(MutationProgress progress, MutationChunk? chunk, uint markerCount, Headers? input, string reason)
    {
        var piece = progress.Clone();
        piece.ChunkCount = Math.Max(progress.ChunkCount, markerCount);
        piece.ChunksStored = chunk is null ? 0u : 1u;
        piece.LastError = RecordLimits.BoundError(reason == MutationDeadLetterHeaders.BeyondCount
            ? $"chunk {chunk!.Sequence} is past its completion marker's count of {progress.ChunkCount}, and arrived after its mutation "
                + (progress.State == MutationState.Applied ? "was applied" : "was dead-lettered")
            : $"{(chunk is null ? "the completion marker" : $"chunk {chunk.Sequence}")} arrived after the mutation was dead-lettered ({progress.LastError})");
        NoteSource(piece);
        var dead = new DeadMutation { RequestId = progress.RequestId, ChunkCount = piece.ChunkCount, NextSequence = progress.NextSequence };
        if (chunk is not null)
        {
            dead.Chunks.Add(chunk);
        }

        var headers = DeadLetterHeadersOf(piece, reason, CarriedHeaders.From(input));
        headers.Add(MutationDeadLetterHeaders.Part, Utf8("1/1"));
        LogDeadLettered(_logger, _namespace, progress.RequestId, reason, progress.Attempts, piece.LastError);
        await Context.ForwardAsync(new Record<byte[], byte[]>(Utf8(progress.RequestId), dead.ToByteArray(), Now(), headers));
        await Context.FlushAsync();
        if (chunk is not null)
        {
            Chunks.Put(ChunkKey.Encode(progress.RequestId, chunk.Sequence), []);
        }
        else
        {
            progress.ChunkCount = markerCount;
            Save(progress);
        }

        if (reason == MutationDeadLetterHeaders.Late)
        {
            _metrics.LatePiece(_namespace);
        }

        _metrics.DeadLettered(_namespace, reason);
    }

    /// <summary>
    /// Sends <paramref name="chunks"/> as the mutation's dead letter, in as many parts as <see cref="DeadLetterParts"/> cuts
    /// them into, each with the headers <paramref name="progress"/> and <paramref name="reason"/> give; the caller flushes.
    /// </summary>
    private async ValueTask ForwardDeadMutationAsync(MutationProgress progress, string reason, List<(byte[] Key, byte[] Value)> chunks)
    {
        var parts = DeadLetterParts(chunks);
        for (var i = 0; i < parts.Count; i++)
        {
            var dead = new DeadMutation { RequestId = progress.RequestId, ChunkCount = progress.ChunkCount, NextSequence = progress.NextSequence };
            dead.Chunks.AddRange(parts[i].Select(c => MutationChunk.Parser.ParseFrom(c.Value)));
            var headers = DeadLetterHeadersOf(progress, reason, []);
            headers.Add(MutationDeadLetterHeaders.Part, Utf8($"{i + 1}/{parts.Count}"));
            await Context.ForwardAsync(new Record<byte[], byte[]>(Utf8(progress.RequestId), dead.ToByteArray(), Now(), headers));
        }
    }

    // The chunks in sequence order, cut into runs of at most MaxDeadLetterBytes (a chunk above it
    // alone in its run): one run, possibly empty, for most mutations.
    private List<List<(byte[] Key, byte[] Value)>> DeadLetterParts(List<(byte[] Key, byte[] Value)> chunks)
    {
        var parts = new List<List<(byte[] Key, byte[] Value)>> { new() };
        var bytes = 0L;
        foreach (var chunk in chunks)
        {
            if (parts[^1].Count > 0 && bytes + chunk.Value.Length > _options.MaxDeadLetterBytes)
            {
                parts.Add([]);
                bytes = 0;
            }

            parts[^1].Add(chunk);
            bytes += chunk.Value.Length;
        }

        return parts;
    }

    // carried: the input's headers the dead letter keeps; its own go after them.
    private Headers DeadLetterHeadersOf(MutationProgress progress, string reason, Headers carried)
    {
        var headers = DeadLetterHeaders.AddOwn(
            carried, progress.LastError, reason, progress.Attempts, _namespace, progress.SourceTopic, progress.SourcePartition, progress.SourceOffset, Now());
        headers.Add(MutationDeadLetterHeaders.RequestId, Utf8(progress.RequestId));
        headers.Add(MutationDeadLetterHeaders.ChunkCount, Text(progress.ChunkCount));
        headers.Add(MutationDeadLetterHeaders.ChunksStored, Text(progress.ChunksStored));
        headers.Add(MutationDeadLetterHeaders.NextSequence, Text(progress.NextSequence));
        return headers;
    }

    // A copied-back mutation dead letter's wal.mutation.* headers stay out too: `wal dlq` takes a dead letter with a
    // request-id header for a mutation's, and this one holds the record as it was read.
    private async ValueTask DeadLetterPoisonAsync(Record<byte[], byte[]> record, string error)
    {
        var source = Context.RecordMetadata;
        var headers = DeadLetterHeaders.AddOwn(
            CarriedHeaders.From(record.Headers), error, DeadLetterReasons.Permanent, 0, _namespace, source?.Topic ?? string.Empty, source?.Partition ?? -1, source?.Offset ?? -1, Now());
        LogDeadLettered(_logger, _namespace, string.Empty, DeadLetterReasons.Permanent, 0, error);
        await Context.ForwardAsync(new Record<byte[], byte[]>(record.Key, record.Value ?? [], record.Timestamp, headers));
        _metrics.DeadLettered(_namespace, DeadLetterReasons.Permanent);
    }

    /// <summary>
    /// Deletes a finished mutation's chunks in one store write, the record that says it is finished first (each
    /// operation is still its own changelog record, in order). The progress saved next is in the other store's
    /// changelog, and a crash keeps a prefix of each: a restore with any of the deletes has the record too, and
    /// <see cref="Load"/> learns from it that the chunks were applied or dead-lettered, rather than waiting for them
    /// and dead-lettering an empty mutation at its expiry.
    /// </summary>
    private void FinishChunks(MutationProgress progress, List<(byte[] Key, byte[] Value)> deleted, List<(byte[] Key, byte[] Value)> deadLetteredApart)
    {
        var finished = new MutationProgress
        {
            RequestId = progress.RequestId,
            State = progress.State,
            FirstSeenMs = progress.FirstSeenMs,
            ChunkCount = progress.ChunkCount,
            ChunksStored = progress.ChunksStored,
            NextSequence = progress.NextSequence,
            Attempts = progress.Attempts,
            LastError = progress.LastError,
            DeadLetterHoldsEveryChunk = progress.DeadLetterHoldsEveryChunk,
        };
        var batch = new WriteBatch().Put(ChunkKey.Finished(progress.RequestId), finished.ToByteArray());
        foreach (var (key, _) in deleted)
        {
            batch.Delete(key);
        }

        foreach (var (key, _) in deadLetteredApart)
        {
            // Recorded as gone, as a piece dead-lettered alone is: a writer's retry or a replay is not sent twice.
            batch.Put(key, []);
        }

        Chunks.Write(batch);
    }

    private static byte[] Text(long value) => Encoding.UTF8.GetBytes(value.ToString(CultureInfo.InvariantCulture));

    [LoggerMessage(Level = LogLevel.Error, Message = "{Namespace}: the sink threw applying {ChunkCount} chunk(s) of a mutation; counted as a retriable failure")]
    private static partial void LogSinkThrew(ILogger logger, Exception error, string @namespace, int chunkCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: applied mutation {RequestId} ({ChunkCount} chunk(s)) after {Attempts} attempt(s)")]
    private static partial void LogApplied(ILogger logger, string @namespace, string requestId, uint chunkCount, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: attempt {Attempts} of mutation {RequestId} stopped at chunk {Sequence} ({Error}); resuming there in {WaitMs:0} ms")]
    private static partial void LogRetrying(ILogger logger, string @namespace, string requestId, uint sequence, int attempts, double waitMs, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}: dead-lettered mutation {RequestId} ({Reason}) after {Attempts} attempt(s): {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string @namespace, string requestId, string reason, int attempts, string error);
}
