using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Grpc;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// Turns a request into a <see cref="LogEntry"/> on its namespace's topic and says how durable it
/// is. Every refusal happens before anything is produced, so a refused write is never in the log.
/// </summary>
public sealed class LogWriter(
    INamespaceRegistry registry,
    KafkaLogProducer producer,
    InFlightLimiter limiter,
    WriteRateLimiter rates,
    IngressMetrics metrics,
    IngressOptions options,
    TimeProvider time)
{
    // Made once on first use: a method-group delegate per write would be an allocation per write.
    private Action<string, int>? _release;

    public async Task<WriteResult> WriteAsync(WriteToLogRequest request, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (!TryAdmit(request, "WriteToLog", caller, started, cancellationToken, out var write, out var refusal))
        {
            return refusal;
        }

        return Answer(write.Namespace, await ProduceAsync(write, cancellationToken), started);
    }

    /// <summary>
    /// Starts a write and gives its answer to <paramref name="listener"/> on whichever thread has
    /// it: at once for a refusal, on Kafka's delivery thread otherwise. No task and no thread-pool
    /// hop per write, which is what lets a stream carry many writes per wake-up.
    /// </summary>
    public void Start(WriteToLogRequest request, CallerIdentity caller, IWriteListener listener, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (!TryAdmit(request, "WriteToLogStream", caller, started, cancellationToken, out var write, out var refusal))
        {
            listener.OnAnswered(request.ClientId, refusal);
            return;
        }

        producer.Produce(write.Topic, write.Key, write.Value, new ListenedWrite(this, write, started, request.ClientId, listener));
    }

    // Every check of a WriteToLog request, then the reservation: false with the (counted) refusal.
    // The method labels the request in the metrics: a unary call, or one write of a stream.
    private bool TryAdmit(WriteToLogRequest request, string method, CallerIdentity caller, long started, CancellationToken cancellationToken, out AdmittedWrite write, out WriteResult refusal)
    {
        write = default;
        var now = time.GetUtcNow();
        var id = request.Id.Length > 0 ? request.Id : WriteId.New(now);
        if (!TryGetNamespace(request.Namespace, method, id, caller, out var config, out refusal))
        {
            refusal = Answer(UnknownTag(request.Namespace), refusal, started);
            return false;
        }

        var target = request.Target ?? config.DefaultTarget;
        var problem = WriteRequestValidator.CheckId(request.Id)
            ?? WriteRequestValidator.CheckLifecycle(request.Lifecycle, config, now);
        if (problem is null && request.Payload.Length > config.MaxPayloadBytes)
        {
            // A well-formed request the namespace will not take: OK status, durable FALSE.
            refusal = Answer(config.Name, WriteResult.Refused(StatusCode.OK, id,
                $"payload of {request.Payload.Length} bytes exceeds namespace '{config.Name}' max_payload_bytes of {config.MaxPayloadBytes}; not written"), started);
            return false;
        }

        problem ??= target is null
            ? $"target: the request names none and namespace '{config.Name}' has no default_target"
            : WriteRequestValidator.CheckTarget(target, registry, options.TopologyApplicationId);
        if (problem is not null)
        {
            refusal = Answer(config.Name, WriteResult.Refused(StatusCode.InvalidArgument, id, $"{problem}; not written"), started);
            return false;
        }

        var lifecycle = request.Lifecycle ?? new Lifecycle();
        lifecycle.OriginalWriteTime ??= Timestamp.FromDateTimeOffset(now);
        var entry = new LogEntry
        {
            Id = id,
            Namespace = config.Name,
            Lifecycle = lifecycle,
            Payload = request.Payload,
            Target = target,
            AcceptedAtMs = now.ToUnixTimeMilliseconds(),
            OriginRegion = options.Region,
        };
        return TryReserve(config, id, PartitionKey.ForWrite(target!, id), entry, started, cancellationToken, out write, out refusal);
    }

    public async Task<WriteResult> WriteChunkAsync(MutationChunk chunk, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var id = $"{chunk.RequestId}/{chunk.Sequence}";
        if (!TryGetMutationNamespace(chunk.Namespace, "WriteMutationChunk", id, caller, out var config, out var refusal))
        {
            return Answer(UnknownTag(chunk.Namespace), refusal, started);
        }

        var problem = CheckRequestId(chunk.RequestId)
            ?? WriteRequestValidator.CheckIdText("idempotency_token", chunk.IdempotencyToken)
            ?? (chunk.Table.Length == 0 ? "table: must be set" : null)
            ?? CheckOperation(chunk, config)
            ?? CheckChunkTarget(chunk, config);
        if (problem is not null)
        {
            return Answer(config.Name, WriteResult.Refused(StatusCode.InvalidArgument, id, $"{problem}; not written"), started);
        }

        var size = chunk.OperationCase == MutationChunk.OperationOneofCase.Put ? chunk.Put.Value.Length + chunk.Put.Key.Length : chunk.Delete.Key.Length;
        if (size > config.MaxPayloadBytes)
        {
            return Answer(config.Name, WriteResult.Refused(StatusCode.OK, id,
                $"chunk of {size} bytes exceeds namespace '{config.Name}' max_payload_bytes of {config.MaxPayloadBytes}; not written"), started);
        }

        if (!TryReserve(config, id, PartitionKey.ForMutation(chunk.RequestId), NewEntry(config, id, e => e.Chunk = chunk), started, cancellationToken, out var write, out var refused))
        {
            return refused;
        }

        return Answer(config.Name, await ProduceAsync(write, cancellationToken), started);
    }

    public async Task<WriteResult> CompleteMutationAsync(MutationCompletion completion, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var id = $"{completion.RequestId}/complete";
        if (!TryGetMutationNamespace(completion.Namespace, "CompleteMutation", id, caller, out var config, out var refusal))
        {
            return Answer(UnknownTag(completion.Namespace), refusal, started);
        }

        var problem = CheckRequestId(completion.RequestId) ?? (completion.ChunkCount == 0 ? "chunk_count: must be at least 1" : null);
        if (problem is not null)
        {
            return Answer(config.Name, WriteResult.Refused(StatusCode.InvalidArgument, id, $"{problem}; not written"), started);
        }

        if (!TryReserve(config, id, PartitionKey.ForMutation(completion.RequestId), NewEntry(config, id, e => e.Completion = completion), started, cancellationToken, out var write, out var refused))
        {
            return refused;
        }

        return Answer(config.Name, await ProduceAsync(write, cancellationToken), started);
    }

    // The quota and the in-flight bound, checked last so nothing is reserved for a request refused
    // for another reason: false with the (counted) refusal.
    private bool TryReserve(NamespaceConfig config, string id, byte[] key, LogEntry entry, long started, CancellationToken cancellationToken, out AdmittedWrite write, out WriteResult refusal)
    {
        write = default;
        if (cancellationToken.IsCancellationRequested)
        {
            refusal = Answer(config.Name, WriteResult.Refused(StatusCode.DeadlineExceeded, id, "The deadline passed before the record was sent; not written."), started);
            return false;
        }

        // Room first, then the rate's token: a write shed for room must not spend a token, and
        // giving room back is simple where giving a token back is not.
        // Into an array of its size directly: ToByteArray allocates a CodedOutputStream per write as well.
        var value = new byte[entry.CalculateSize()];
        entry.WriteTo(value);
        if (!limiter.TryAcquire(config.Name, config.Quota.MaxInFlightBytes, value.Length, out var instanceFull))
        {
            // Two reasons: the instance's bound full is the instance saturated, whichever namespace met it.
            metrics.Shed(config.Name, instanceFull ? "instance_in_flight_bytes" : "in_flight_bytes");
            refusal = Answer(config.Name, InFlightRefusal(config, id, value.Length, instanceFull), started);
            return false;
        }

        if (!rates.TryTake(config, out var untilNextToken))
        {
            limiter.Release(config.Name, value.Length);
            metrics.Shed(config.Name, "rate");
            refusal = Answer(config.Name, WriteResult.Refused(StatusCode.ResourceExhausted, id,
                $"namespace '{config.Name}' is over its quota.writes_per_second of {config.Quota.WritesPerSecond}; not written, retry later",
                retryPushback: untilNextToken), started);
            return false;
        }

        write = new AdmittedWrite(config.Topic, config.Name, id, key, value);
        refusal = default;
        return true;
    }

    // Which bound was full, and whether waiting can help: a record larger than a bound itself is
    // refused however empty the instance is, and "retry later" would send its caller round for good,
    // so its answer tells clients that retry this status not to (the status stays the shed one).
    private WriteResult InFlightRefusal(NamespaceConfig config, string id, int bytes, bool instanceFull)
    {
        var (bound, limit) = instanceFull
            ? ("this instance's MaxInFlightBytes", limiter.MaxTotalBytes)
            : ($"namespace '{config.Name}' quota.max_in_flight_bytes", config.Quota.MaxInFlightBytes);
        if (bytes > limit)
        {
            return WriteResult.Refused(StatusCode.ResourceExhausted, id,
                $"the record of {bytes} bytes is larger than {bound} of {limit}, the most that may be awaiting Kafka: it will never be admitted; not written (send a smaller write, or raise the bound)",
                retryPushback: Timeout.InfiniteTimeSpan);
        }

        return WriteResult.Refused(StatusCode.ResourceExhausted, id, instanceFull
            ? $"this instance has too many bytes awaiting Kafka, across all namespaces (MaxInFlightBytes of {limit}); not written, retry later or at another instance"
            : $"namespace '{config.Name}' has too many bytes awaiting Kafka (quota.max_in_flight_bytes of {limit}); not written, retry later");
    }

    private async Task<WriteResult> ProduceAsync(AdmittedWrite write, CancellationToken cancellationToken)
    {
        var produce = producer.ProduceAsync(write.Topic, write.Key, write.Value, write.Namespace, _release ??= Release);
        try
        {
            // WaitAsync's promise completes on Kafka's delivery thread and would run the rest of the
            // call (the response, Kestrel's write) there, ahead of every other delivery report:
            // continue on the thread pool instead, as PendingProduce intends.
            return Produced(write, await produce.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ForceYielding));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The record is still in librdkafka's hands and may yet be written.
            return new WriteResult(StatusCode.DeadlineExceeded, new WriteToLogResponse
            {
                Durable = Trilean.Unknown,
                Id = write.Id,
                Message = "The deadline passed before Kafka answered; the record may or may not be durable.",
            });
        }
    }

    // The producer's answer as the caller's result; a record its full queue refused counts as shed, as at the in-flight bounds.
    private WriteResult Produced(AdmittedWrite write, ProduceOutcome outcome)
    {
        if (outcome.WasShed)
        {
            metrics.Shed(write.Namespace, "producer_queue");
        }

        return WriteResult.From(outcome, write.Id);
    }

    // The reservation ends with Kafka's answer, not with the caller's wait: a caller that gave up
    // must not free room that the record still takes.
    private void Release(string @namespace, int bytes)
    {
        limiter.Release(@namespace, bytes);
    }

    private LogEntry NewEntry(NamespaceConfig config, string id, Action<LogEntry> setBody)
    {
        var now = time.GetUtcNow();
        var entry = new LogEntry
        {
            Id = id,
            Namespace = config.Name,
            Lifecycle = new Lifecycle { OriginalWriteTime = Timestamp.FromDateTimeOffset(now) },
            AcceptedAtMs = now.ToUnixTimeMilliseconds(),
            OriginRegion = options.Region,
        };
        setBody(entry);
        return entry;
    }

    private bool TryGetNamespace(string name, string method, string id, CallerIdentity caller, out NamespaceConfig config, out WriteResult refusal)
    {
        refusal = default;
        if (registry.TryGet(name, out var found))
        {
            config = found;
            // The configured name, not the request's copy: the exporter finds a series by the tag's instance.
            metrics.Request(method, found.Name);
            return IsAdmitted(found, id, caller, out refusal);
        }

        config = null!;
        metrics.Request(method, IngressMetrics.UnknownNamespace);
        refusal = NamespaceValidator.IsValidName(name)
            ? WriteResult.Refused(StatusCode.NotFound, id, $"namespace '{name}' does not exist; not written")
            : WriteResult.Refused(StatusCode.InvalidArgument, id, $"namespace: '{WriteRequestValidator.Excerpt(name)}' is not a valid namespace name; not written");
        return false;
    }

    private static bool IsAdmitted(NamespaceConfig config, string id, CallerIdentity caller, out WriteResult refusal)
    {
        refusal = default;
        if (caller.IsAllowed(config.AllowedClients))
        {
            return true;
        }

        // No certificate: the caller could not be identified at all. A certificate whose names are
        // not listed: identified, and refused.
        refusal = caller.IsAuthenticated
            ? WriteResult.Refused(StatusCode.PermissionDenied, id, $"caller '{caller.Description}' is not in namespace '{config.Name}' allowed_clients; not written")
            : WriteResult.Refused(StatusCode.Unauthenticated, id, $"namespace '{config.Name}' admits only callers with a client certificate on its allowed_clients; not written");
        return false;
    }

    private bool TryGetMutationNamespace(string name, string method, string id, CallerIdentity caller, out NamespaceConfig config, out WriteResult refusal)
    {
        if (!TryGetNamespace(name, method, id, caller, out config, out refusal))
        {
            return false;
        }

        if (!config.Personas.Contains(Persona.MultiTableMutation))
        {
            refusal = WriteResult.Refused(StatusCode.FailedPrecondition, id,
                $"namespace '{name}' does not have the PERSONA_MULTI_TABLE_MUTATION persona; not written");
            return false;
        }

        // Every chunk is applied to the default target: without one no mutation of this namespace can ever be applied,
        // and taking its records would only end in a dead letter after the caller was told TRUE.
        if (!MutationChunkRules.CanApplyTo(config.DefaultTarget))
        {
            refusal = WriteResult.Refused(StatusCode.FailedPrecondition, id, config.DefaultTarget is null
                ? $"namespace '{name}' has no default_target, which a mutation's chunks are applied to; not written"
                : $"namespace '{name}' has an upstream default_target, which a mutation's chunks cannot be applied to (it must be memcached, Cassandra or Kafka); not written");
            return false;
        }

        return true;
    }

    // The target the chunk's table and key make of the default target must be one its sink can deliver to, and a
    // Kafka topic none of Wal's own: the checks a request's own target meets.
    private string? CheckChunkTarget(MutationChunk chunk, NamespaceConfig config) =>
        WriteRequestValidator.CheckTarget(MutationChunkRules.TargetOf(chunk, config.DefaultTarget)!, registry, options.TopologyApplicationId) is { } problem
            ? $"table '{WriteRequestValidator.Excerpt(chunk.Table)}' and the chunk's key make a target of namespace '{config.Name}' that cannot be written: {problem}"
            : null;

    private WriteResult Answer(string @namespace, WriteResult result, long started)
    {
        metrics.Answered(@namespace, result.Response.Durable, time.GetElapsedTime(started));
        return result;
    }

    private string UnknownTag(string name) => registry.TryGet(name, out var config) ? config.Name : IngressMetrics.UnknownNamespace;

    private static string? CheckOperation(MutationChunk chunk, NamespaceConfig config) => chunk.OperationCase switch
    {
        MutationChunk.OperationOneofCase.Put when chunk.Put.Key.IsEmpty => "put.key: must not be empty",
        MutationChunk.OperationOneofCase.Delete when chunk.Delete.Key.IsEmpty => "delete.key: must not be empty",
        MutationChunk.OperationOneofCase.None => "operation: a chunk needs a put or a delete",
        _ when MutationChunkRules.KeyProblem(chunk, config.DefaultTarget) is { } problem =>
            $"{(chunk.OperationCase == MutationChunk.OperationOneofCase.Put ? "put" : "delete")}.key: {problem} (namespace '{config.Name}')",
        _ => null,
    };

    private static string? CheckRequestId(string requestId) =>
        requestId.Length is 0 or > 256 ? "request_id: must be 1 to 256 characters" : WriteRequestValidator.CheckIdText("request_id", requestId);

    /// <summary>A write that passed every check and holds its in-flight reservation.</summary>
    private readonly record struct AdmittedWrite(string Topic, string Namespace, string Id, byte[] Key, byte[] Value);

    /// <summary>
    /// A started write's way back: on Kafka's answer it gives back the reservation, counts the
    /// outcome and hands the answer to the listener, all on the answering thread.
    /// </summary>
    private sealed class ListenedWrite(LogWriter writer, AdmittedWrite write, long started, ulong clientId, IWriteListener listener) : IProduceReport
    {
        public void Answer(ProduceOutcome outcome)
        {
            // The caller is answered even if giving back the room or counting the outcome throws.
            var result = WriteResult.From(outcome, write.Id);
            try
            {
                writer.Release(write.Namespace, write.Value.Length);
                result = writer.Answer(write.Namespace, writer.Produced(write, outcome), started);
            }
            finally
            {
                listener.OnAnswered(clientId, result);
            }
        }
    }
}
