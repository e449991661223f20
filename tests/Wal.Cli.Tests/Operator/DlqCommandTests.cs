using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Topology.State;
using Wal.Topology.Mutations;

namespace Wal.Cli.Tests.Operator;

[Collection(OperatorCollection.Name)]
public sealed class DlqCommandTests(OperatorStackFixture stack)
{
    [Fact]
    public async Task ListAndShow_DeadLetters_ShowHeadersAndEntry()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "a-1", "permanent", "memcached cluster 'nowhere' is not configured");
        await stack.ProduceDeadLetterAsync(ns, "a-2", "retriable", "timeout after 8 attempts");

        var list = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "--output", "json");
        var show = await OperatorStackFixture.RunAsync("dlq", "show", "--namespace", ns, "a-2", "--bootstrap-servers", stack.Bootstrap);
        var text = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);

        Assert.True(list.Exit == 0, list.ToString());
        var json = JsonNode.Parse(list.Out)!;
        Assert.Equal(2, json["count"]!.GetValue<int>());
        Assert.Equal("permanent", json["deadLetters"]![0]!["reason"]!.GetValue<string>());
        Assert.Equal(8, json["deadLetters"]![1]!["attempts"]!.GetValue<int>());
        Assert.Contains("2 dead letter(s)", text.Out, StringComparison.Ordinal);
        Assert.Contains("timeout after 8 attempts", text.Out, StringComparison.Ordinal);
        // Text as it is in the JSON, not \u0027-escaped.
        var raw = await OperatorStackFixture.RunAsync("dlq", "show", "--namespace", ns, "a-1", "--bootstrap-servers", stack.Bootstrap);
        Assert.Contains("memcached cluster 'nowhere' is not configured", raw.Out, StringComparison.Ordinal);
        var detail = JsonNode.Parse(show.Out)!;
        Assert.Equal($"wal.{ns}/0@42", detail["source"]!.GetValue<string>());
        Assert.Equal("a-2", detail["entry"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Show_UnknownId_Exit1WithNextStep()
    {
        var ns = await stack.CreateNamespaceAsync();

        var run = await OperatorStackFixture.RunAsync("dlq", "show", "--namespace", ns, "nope", "--bootstrap-servers", stack.Bootstrap);

        Assert.Equal(ExitCodes.Failed, run.Exit);
        Assert.Contains($"next: Run 'wal dlq list --namespace {ns}'", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_UnknownNamespace_Exit1NamingDefinedOnes()
    {
        var run = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", "no-such-ns", "--bootstrap-servers", stack.Bootstrap);

        Assert.Equal(ExitCodes.Failed, run.Exit);
        Assert.Contains("'no-such-ns' is not defined", run.Error, StringComparison.Ordinal);
        Assert.Contains("next: Defined:", run.Error, StringComparison.Ordinal);
        Assert.Contains("demo", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redrive_DryRun_WritesAndCommitsNothing()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "d-1", "permanent", "boom");

        var dry = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--dry-run", "--bootstrap-servers", stack.Bootstrap);

        Assert.True(dry.Exit == 0, dry.ToString());
        Assert.Contains("would re-enqueue d-1", dry.Out, StringComparison.Ordinal);
        Assert.Empty(stack.ReadTopic($"wal.{ns}"));
        // Nothing committed: a real run still finds the record.
        var real = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "--output", "json");
        Assert.Equal(1, JsonNode.Parse(real.Out)!["redriven"]!.GetValue<int>());
    }

    [Fact]
    public async Task Redrive_Filter_ReEnqueuesMatchingUnchangedAndCommits()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "f-1", "permanent", "bad payload");
        await stack.ProduceDeadLetterAsync(ns, "f-2", "retriable", "connection refused");
        await stack.ProduceDeadLetterAsync(ns, "f-3", "retriable", "Connection reset");

        var first = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--filter", "error~connection", "--bootstrap-servers", stack.Bootstrap);
        var second = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--filter", "error~connection", "--bootstrap-servers", stack.Bootstrap, "-o", "json");

        Assert.True(first.Exit == 0, first.ToString());
        var entries = stack.ReadTopic($"wal.{ns}");
        Assert.Equal(["f-2", "f-3"], entries.Select(e => e.Id));
        Assert.Equal(OperatorStackFixture.Entry(ns, "f-2"), entries[0]);
        Assert.Equal(0, JsonNode.Parse(second.Out)!["redriven"]!.GetValue<int>());
        Assert.Equal(2, stack.ReadTopic($"wal.{ns}").Count);
    }

    [Fact]
    public async Task Redrive_MutationDeadLetters_ReEnqueuedAsANewMutation_IncompleteOnesSkippedAndNamed()
    {
        // A DeadMutation also parses as a LogEntry (wrongly): redrive once re-enqueued one chunk as a plain write with no target.
        var ns = await stack.CreateNamespaceAsync();
        var chunks = Enumerable.Range(0, 3).Select(i => new MutationChunk
        {
            Namespace = ns, RequestId = "m-1", Sequence = (uint)i, Table = "local", Version = 1_000 + i,
            Put = new Put { Key = ByteString.CopyFromUtf8($"item-{i}"), Value = ByteString.CopyFromUtf8($"value-{i}") },
        }).ToList();
        // Split in two parts, as the topology splits a large mutation; and a mutation whose marker never arrived.
        await stack.ProduceMutationDeadLetterAsync(ns, Dead("m-1", 3, chunks[..2]), chunksStored: 3, "1/2", sourceOffset: 7);
        await stack.ProduceMutationDeadLetterAsync(ns, Dead("m-1", 3, chunks[2..]), chunksStored: 3, "2/2", sourceOffset: 7);
        await stack.ProduceMutationDeadLetterAsync(ns, Dead("m-2", 0, chunks[..1]), chunksStored: 1, "1/1", sourceOffset: 9);
        // A late chunk of m-1: joined only to m-1's dead letters of an expired mutation, which m-1 has none of.
        await stack.ProduceMutationDeadLetterAsync(ns, Dead("m-1", 3, chunks[1..2]), chunksStored: 1, "1/1", sourceOffset: 11, MutationDeadLetterHeaders.Late);

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);
        var again = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "-o", "json");

        Assert.True(run.Exit == ExitCodes.Skipped, run.ToString());
        Assert.Contains("skipped m-2 (dlq 0@2): incomplete: its completion marker never arrived", run.Out, StringComparison.Ordinal);
        Assert.Contains("skipped m-1 (dlq 0@3): incomplete: chunk(s) 0, 2 of 3 in none of the 1 dead letter(s) of request id m-1", run.Out, StringComparison.Ordinal);
        var entries = stack.ReadTopic($"wal.{ns}");
        const string redriven = "m-1.redrive-0-7";
        Assert.Equal([$"{redriven}/0", $"{redriven}/1", $"{redriven}/2", $"{redriven}/complete"], entries.Select(e => e.Id));
        Assert.All(entries.Take(3), (e, i) =>
        {
            Assert.Equal(LogEntry.BodyOneofCase.Chunk, e.BodyCase);
            Assert.Equal(redriven, e.Chunk.RequestId);
            Assert.Equal(chunks[i].Put, e.Chunk.Put);
            Assert.Equal(chunks[i].Version, e.Chunk.Version);
        });
        Assert.Equal(new MutationCompletion { Namespace = ns, RequestId = redriven, ChunkCount = 3 }, entries[3].Completion);
        Assert.Equal(0, JsonNode.Parse(again.Out)!["redriven"]!.GetValue<int>());

        static DeadMutation Dead(string requestId, uint chunkCount, IEnumerable<MutationChunk> part)
        {
            var dead = new DeadMutation { RequestId = requestId, ChunkCount = chunkCount };
            dead.Chunks.AddRange(part);
            return dead;
        }
    }

    [Fact]
    public async Task Redrive_ExpiredMutationAndItsLatePieces_ReEnqueuedWholeAndAppliedByTheTopology()
    {
        // A slow writer's chunk 1 and marker came after its mutation expired: three dead letters, as the topology writes
        // them (expired, then late and late), which redrive refused one by one, so the late pieces' data could be
        // recovered only by hand from 'wal dlq show'. The namespace is the seed's, which the running topology has from
        // its start: a namespace created here made the test wait for the topology to take it in (40 s and more).
        const string ns = "kv-mutations";
        var requestId = $"slow-{Guid.NewGuid():N}";
        var expired = new DeadMutation { RequestId = requestId };
        expired.Chunks.Add(ChunkEntry(ns, requestId, 0).Chunk);
        await stack.ProduceMutationDeadLetterAsync(ns, expired, chunksStored: 1, "1/1", sourceOffset: 10, MutationDeadLetterHeaders.Expired);
        var lateChunk = new DeadMutation { RequestId = requestId };
        lateChunk.Chunks.Add(ChunkEntry(ns, requestId, 1).Chunk);
        await stack.ProduceMutationDeadLetterAsync(ns, lateChunk, chunksStored: 1, "1/1", sourceOffset: 11, MutationDeadLetterHeaders.Late);
        await stack.ProduceMutationDeadLetterAsync(ns, new DeadMutation { RequestId = requestId, ChunkCount = 2 }, chunksStored: 0, "1/1", sourceOffset: 12, MutationDeadLetterHeaders.Late);

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--filter", $"id={requestId}", "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == ExitCodes.Ok, run.ToString());
        var redriven = System.Text.RegularExpressions.Regex.Match(
            run.Out, $@"re-enqueued mutation {requestId} \(whole, from its dead letters of reasons expired and late\) as ({requestId}\.redrive-\d+-\d+)");
        Assert.True(redriven.Success, run.Out);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(run.Out, $@"joined {requestId} \(dlq \d+@\d+, late\) to {redriven.Groups[1].Value}"));
        await using var memcached = new MemcachedClient(new MemcachedClientOptions { Servers = [stack.Stack.Memcached.Endpoint] });
        foreach (var sequence in new[] { 0, 1 })
        {
            MemcachedItem? item = null;
            // The shared stack's topology restarts for each namespace the other tests create (some 10 s each with the
            // dozens they leave behind), and this may wait through one or two: 30 s were once too few.
            await Eventually.WaitUntilAsync(
                async () => (item = await memcached.GetAsync($"{requestId}-{sequence}")) is not null,
                TimeSpan.FromSeconds(60),
                $"the topology to apply chunk {sequence} of {redriven.Groups[1].Value}");
            Assert.True(VersionedValue.TryDecode(item!.ClientFlags, item.Value, out var version, out _, out var payload));
            Assert.Equal($"value-{sequence}", Encoding.UTF8.GetString(payload.Span));
            Assert.Equal(1_000 + sequence, version);
        }

        // The mutation went back once, whole: nothing of it is dead-lettered again under the new id.
        var list = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "-o", "json");
        Assert.DoesNotContain(redriven.Groups[1].Value, list.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redrive_ExpiredMutationWhosePiecesAreStillMissing_SkippedSayingWhichAndWhatToRun()
    {
        var ns = await stack.CreateNamespaceAsync();
        var chunk = new MutationChunk { Namespace = ns, RequestId = "gap", Sequence = 0, Table = "local", Put = new Put { Key = ByteString.CopyFromUtf8("k") } };
        var expired = new DeadMutation { RequestId = "gap", ChunkCount = 3 };
        expired.Chunks.Add(chunk);
        await stack.ProduceMutationDeadLetterAsync(ns, expired, chunksStored: 1, "1/1", sourceOffset: 4, MutationDeadLetterHeaders.Expired);
        var late = new DeadMutation { RequestId = "gap", ChunkCount = 3 };
        late.Chunks.Add(new MutationChunk(chunk) { Sequence = 2 });
        await stack.ProduceMutationDeadLetterAsync(ns, late, chunksStored: 1, "1/1", sourceOffset: 6, MutationDeadLetterHeaders.Late);

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == ExitCodes.Skipped, run.ToString());
        Assert.Contains(
            "skipped gap (dlq 0@1): incomplete: chunk(s) 1 of 3 in none of the 2 dead letter(s) of request id gap (expired at dlq 0@0, late at dlq 0@1). "
                + $"Once they are in the DLQ, run 'wal dlq redrive --namespace {ns} --filter id=gap'",
            run.Out,
            StringComparison.Ordinal);
        Assert.Empty(stack.ReadTopic($"wal.{ns}"));
    }

    private static LogEntry ChunkEntry(string ns, string requestId, uint sequence) => new()
    {
        Id = $"{requestId}/{sequence}",
        Namespace = ns,
        AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        Chunk = new MutationChunk
        {
            Namespace = ns, RequestId = requestId, Sequence = sequence, Table = "local", Version = 1_000 + sequence,
            Put = new Put { Key = ByteString.CopyFromUtf8($"{requestId}-{sequence}"), Value = ByteString.CopyFromUtf8($"value-{sequence}") },
        },
    };

    [Fact]
    public async Task Redrive_MutationWhoseFirstChunksWereApplied_ReEnqueuesOnlyTheRestNumberedFromZero()
    {
        // Chunks 0-2 reached a Kafka target before chunk 3 failed for good: redrive sent all five again, and the Kafka
        // sink, which has no version guard, wrote the first three twice.
        var ns = await stack.CreateNamespaceAsync();
        var chunks = Enumerable.Range(0, 5).Select(i => new MutationChunk
        {
            Namespace = ns, RequestId = "half", Sequence = (uint)i, Table = "events", Version = 1_000 + i,
            Put = new Put { Key = ByteString.CopyFromUtf8($"item-{i}"), Value = ByteString.CopyFromUtf8($"value-{i}") },
        }).ToList();
        foreach (var (part, run) in new[] { ("1/2", chunks[..3]), ("2/2", chunks[3..]) })
        {
            var dead = new DeadMutation { RequestId = "half", ChunkCount = 5, NextSequence = 3 };
            dead.Chunks.AddRange(run);
            await stack.ProduceMutationDeadLetterAsync(ns, dead, chunksStored: 5, part, sourceOffset: 8, "permanent");
        }

        var redrive = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);

        Assert.True(redrive.Exit == ExitCodes.Ok, redrive.ToString());
        const string redriven = "half.redrive-0-8";
        var entries = stack.ReadTopic($"wal.{ns}");
        Assert.Equal([$"{redriven}/0", $"{redriven}/1", $"{redriven}/complete"], entries.Select(e => e.Id));
        Assert.Equal([chunks[3].Put, chunks[4].Put], entries.Take(2).Select(e => e.Chunk.Put));
        Assert.Equal([0u, 1u], entries.Take(2).Select(e => e.Chunk.Sequence));
        Assert.Equal(2u, entries[2].Completion.ChunkCount);
    }

    [Fact]
    public async Task Redrive_SomeSkipped_ExitsSkippedSayingHowManyAndWhy()
    {
        // It exited 0, so an operator's script took "2 could not be redriven, and the position is now past them" for done.
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "s-1", "retriable", "downstream was down");
        var incomplete = new DeadMutation { RequestId = "s-m", ChunkCount = 0 };
        incomplete.Chunks.Add(new MutationChunk { Namespace = ns, RequestId = "s-m", Table = "local", Put = new Put { Key = ByteString.CopyFromUtf8("k") } });
        await stack.ProduceMutationDeadLetterAsync(ns, incomplete, chunksStored: 1, "1/1", sourceOffset: 3);
        await stack.ProduceMutationDeadLetterAsync(ns, new DeadMutation { RequestId = "s-n", ChunkCount = 2 }, chunksStored: 0, "1/1", sourceOffset: 4);

        var dry = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--dry-run", "--bootstrap-servers", stack.Bootstrap, "-o", "json");
        var dryText = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--dry-run", "--bootstrap-servers", stack.Bootstrap);
        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);
        var again = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);

        Assert.True(dry.Exit == ExitCodes.Skipped, dry.ToString());
        Assert.Equal(["s-m", "s-n"], JsonNode.Parse(dry.Out)!["skipped"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()));
        // A dry run skips nothing: it says what the real run would.
        Assert.Contains("would skip s-m (dlq 0@1): incomplete", dryText.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("skipped s-m", dryText.Out, StringComparison.Ordinal);
        Assert.True(run.Exit == ExitCodes.Skipped, run.ToString());
        Assert.Contains("re-enqueued 1 of 3 dead letter(s) read", run.Out, StringComparison.Ordinal);
        Assert.Contains("skipped s-m (dlq 0@1): incomplete: its completion marker never arrived", run.Out, StringComparison.Ordinal);
        Assert.Contains("skipped s-n (dlq 0@2): incomplete: 0 of 2 chunks arrived", run.Out, StringComparison.Ordinal);
        Assert.Contains("2 matching dead letter(s) were skipped", run.Out, StringComparison.Ordinal);
        Assert.Contains("running the redrive again does not retry them", run.Out, StringComparison.Ordinal);
        Assert.Equal(["s-1"], stack.ReadTopic($"wal.{ns}").Select(e => e.Id));
        // Nothing left to do, nothing skipped: done.
        Assert.True(again.Exit == ExitCodes.Ok, again.ToString());
    }

    [Fact]
    public async Task Redrive_MutationChunkTheIngressTook_FitsUnderItsLongerRedriveRequestId_AndDoesNotBlockTheRest()
    {
        // The redriven chunk carries REQUEST.redrive-P-O (in the chunk, its entry id and its key): ~36 bytes more than
        // the record the ingress wrote. One near the ingress's limit was refused by the redrive's producer
        // (librdkafka's default message.max.bytes) on every run, so no dead letter after it was ever redriven.
        var ns = await stack.CreateNamespaceAsync();
        var original = OperatorStackFixture.ChunkNearTheRecordLimit(ns, "big", 0);
        var dead = new DeadMutation { RequestId = "big", ChunkCount = 1 };
        dead.Chunks.Add(original.Chunk);
        await stack.ProduceMutationDeadLetterAsync(ns, dead, chunksStored: 1, "1/1", sourceOffset: 7);
        await stack.ProduceDeadLetterAsync(ns, "after-big", "retriable", "downstream was down");

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "-o", "json");

        Assert.True(run.Exit == 0, run.ToString());
        Assert.Equal(2, JsonNode.Parse(run.Out)!["redriven"]!.GetValue<int>());
        Assert.Equal(["big.redrive-0-7/0", "big.redrive-0-7/complete", "after-big"], stack.ReadTopic($"wal.{ns}").Select(e => e.Id));
    }

    [Fact]
    public async Task Redrive_InterruptedAfterFirst_LosesNothingAndResumesWithoutDuplicates()
    {
        var ns = await stack.CreateNamespaceAsync();
        foreach (var id in new[] { "i-1", "i-2", "i-3" })
        {
            await stack.ProduceDeadLetterAsync(ns, id, "retriable", "downstream was down");
        }

        var config = stack.Stack.Namespaces.TryGet(ns, out var c) ? c : throw new InvalidOperationException(ns);
        var redriver = new DeadLetterRedriver(stack.Bootstrap);
        using var interrupt = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            redriver.RedriveAsync(config, DeadLetterFilter.All, dryRun: false, null, _ => interrupt.Cancel(), interrupt.Token));
        Assert.Equal(["i-1"], stack.ReadTopic(config.Topic).Select(e => e.Id));

        var resumed = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "-o", "json");

        Assert.Equal(2, JsonNode.Parse(resumed.Out)!["redriven"]!.GetValue<int>());
        Assert.Equal(["i-1", "i-2", "i-3"], stack.ReadTopic(config.Topic).Select(e => e.Id));
    }

    // README says a redrive puts the entry back unchanged; it went back without the headers its record had (a writer's
    // trace, a replicated record's origin), which its dead letter carries ahead of its own.
    [Fact]
    public async Task Redrive_PutsTheEntryBackWithItsRecordsHeaders_NotTheDeadLetters()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "h-1", "retriable", "downstream was down", carried: new Headers
        {
            { "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8.ToArray() },
            { Wal.Topology.Replication.ReplicationHeaders.RefusedBy, "b"u8.ToArray() },
        });

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == 0, run.ToString());
        var (entry, headers) = Assert.Single(stack.ReadRecords($"wal.{ns}"));
        Assert.Equal("h-1", entry.Id);
        Assert.Equal(["traceparent"], headers.Select(h => h.Key));
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Encoding.UTF8.GetString(headers.GetLastBytes("traceparent")));
    }

    // A dead letter skipped before an interruption was committed past and named only in the report of a run that ended
    // well: the interrupted run said "interrupted", the next one started after it, and no run ever named it.
    [Fact]
    public async Task Redrive_InterruptedAfterASkip_NamesTheSkippedDeadLetter()
    {
        var ns = await stack.CreateNamespaceAsync();
        var incomplete = new DeadMutation { RequestId = "x-m", ChunkCount = 0 };
        incomplete.Chunks.Add(new MutationChunk { Namespace = ns, RequestId = "x-m", Table = "local", Put = new Put { Key = ByteString.CopyFromUtf8("k") } });
        await stack.ProduceMutationDeadLetterAsync(ns, incomplete, chunksStored: 1, "1/1", sourceOffset: 3);
        await stack.ProduceDeadLetterAsync(ns, "x-1", "retriable", "downstream was down");
        await stack.ProduceDeadLetterAsync(ns, "x-2", "retriable", "downstream was down");
        var config = stack.Stack.Namespaces.TryGet(ns, out var c) ? c : throw new InvalidOperationException(ns);
        using var interrupt = new CancellationTokenSource();

        var stopped = await Assert.ThrowsAsync<CliException>(() =>
            new DeadLetterRedriver(stack.Bootstrap).RedriveAsync(config, DeadLetterFilter.All, dryRun: false, null, _ => interrupt.Cancel(), interrupt.Token));

        Assert.StartsWith("interrupted after re-enqueueing 1 of 2 dead letter(s) read; 1 skipped, which the next run will not name: x-m (dlq 0@0): ", stopped.Message, StringComparison.Ordinal);
        Assert.Contains("wal dlq show", stopped.NextStep, StringComparison.Ordinal);
        Assert.Equal(["x-1"], stack.ReadTopic(config.Topic).Select(e => e.Id));
    }

    // A record dead-lettered as it was read (a remote region refused its copy for good; a poison record) is keyed by the
    // log record's partition key, memcached/CLUSTER/KEY: list showed that, and show and --filter id= missed the entry id.
    [Fact]
    public async Task DeadLetterKeyedByItsPartitionKey_ListedShownAndRedrivenByItsEntryId()
    {
        var ns = await stack.CreateNamespaceAsync();
        var entry = OperatorStackFixture.Entry(ns, "rr-1");
        await stack.ProduceDeadLetterAsync(ns, "rr-1", "permanent", "region b refused it", key: Encoding.UTF8.GetBytes("memcached/nowhere/rr-1"), entry: entry);

        var list = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "-o", "json");
        var show = await OperatorStackFixture.RunAsync("dlq", "show", "--namespace", ns, "rr-1", "--bootstrap-servers", stack.Bootstrap);
        var redrive = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--filter", "id=rr-1", "--bootstrap-servers", stack.Bootstrap);

        Assert.Contains("\"rr-1\"", list.Out, StringComparison.Ordinal);
        Assert.True(show.Exit == 0, show.ToString());
        Assert.True(redrive.Exit == 0 && redrive.Out.Contains("re-enqueued rr-1", StringComparison.Ordinal), redrive.ToString());
        Assert.Equal([entry], stack.ReadTopic($"wal.{ns}"));
    }

    // The mock cluster keeps at most 5 MiB per partition and deletes the oldest records past that, as retention does. The
    // redrive started after them and said nothing of dead letters that were gone before it could re-enqueue them.
    [Fact]
    public async Task Redrive_DeadLettersRetentionDeleted_WarnsWhichOffsetsAreGone()
    {
        var ns = await stack.CreateNamespaceAsync();
        for (var i = 0; i < 30; i++)
        {
            var big = OperatorStackFixture.Entry(ns, $"big-{i}");
            big.Payload = ByteString.CopyFrom(new byte[200_000]);
            await stack.ProduceDeadLetterAsync(ns, big.Id, "retriable", "downstream was down", entry: big);
        }

        var low = stack.LowWatermark($"wal.{ns}.dlq");
        Assert.True(low > 0, "the mock cluster kept every record");

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--dry-run", "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == 0, run.ToString());
        Assert.Contains($"warning: dlq partition 0: retention deleted the dead letters at offsets 0 to {low - 1} before this redrive's group read them", run.Error, StringComparison.Ordinal);
        Assert.Contains($"{30 - low} of {30 - low} unprocessed dead letter(s) would be re-enqueued", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redrive_PositionPastTheEnd_TopicRecreated_ReadsFromTheStartAndSaysSo()
    {
        // The group's position outlives a dead-letter topic deleted and created again: from there the redrive read
        // nothing and said "re-enqueued 0 of 0" while 'wal dlq list' listed the new topic's dead letters.
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "n-1", "retriable", "downstream was down");
        using (var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = stack.Bootstrap, GroupId = DeadLetterRedriver.GroupFor(ns, DeadLetterFilter.All),
        }).Build())
        {
            consumer.Commit([new TopicPartitionOffset($"wal.{ns}.dlq", 0, 50)]);
        }

        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--bootstrap-servers", stack.Bootstrap, "-o", "json");
        var text = await OperatorStackFixture.RunAsync("dlq", "redrive", "--namespace", ns, "--dry-run", "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == 0, run.ToString());
        var result = JsonNode.Parse(run.Out)!;
        Assert.Equal(1, result["redriven"]!.GetValue<int>());
        var pastEnd = Assert.Single(result["positionPastEnd"]!.AsArray())!;
        Assert.Equal(50, pastEnd["committed"]!.GetValue<int>());
        Assert.Equal(1, pastEnd["end"]!.GetValue<int>());
        Assert.Equal(["n-1"], stack.ReadTopic($"wal.{ns}").Select(e => e.Id));
        // Committed after the record: the next run goes on from there, with nothing to say about the position.
        Assert.True(text.Exit == 0, text.ToString());
        Assert.DoesNotContain("past its end", text.Out, StringComparison.Ordinal);
        Assert.Contains("dry run: 0 of 0", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redrive_ReasonInAnotherCase_RedrivesThoseDeadLetters()
    {
        // Matched case-sensitively, 'Permanent' took none and still committed its position past both.
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "c-1", "permanent", "no such cluster");
        await stack.ProduceDeadLetterAsync(ns, "c-2", "retriable", "timeout");

        var run = await OperatorStackFixture.RunAsync(
            "dlq", "redrive", "--namespace", ns, "--filter", "reason=Permanent", "--bootstrap-servers", stack.Bootstrap, "-o", "json");

        Assert.True(run.Exit == 0, run.ToString());
        Assert.Equal($"wal-dlq-redrive-{ns}.reason=permanent", JsonNode.Parse(run.Out)!["group"]!.GetValue<string>());
        Assert.Equal(["c-1"], stack.ReadTopic($"wal.{ns}").Select(e => e.Id));
    }

    [Fact]
    public async Task RedriveHelp_Filter_SaysWhatAndHowItMatches()
    {
        var run = await OperatorStackFixture.RunAsync("dlq", "redrive", "--help");

        Assert.True(run.Exit == 0, run.ToString());
        // The help wraps long descriptions to the terminal's width.
        var help = string.Join(' ', run.Out.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        foreach (var part in (string[])["reason=REASON", "expired", "late", "error=ERROR", "error~TEXT", "id=ID", "in any case", "ids", "exactly"])
        {
            Assert.Contains(part, help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("dlq redrive --namespace demo --filter colour=red")]
    [InlineData("dlq redrive --namespace demo --filter reason=permanant")]
    [InlineData("dlq list")]
    [InlineData("replay --namespace demo --from yesterday")]
    [InlineData("replay --namespace demo --from 0:x")]
    [InlineData("replay --namespace demo --from 0 --target redis:local")]
    [InlineData("replay --namespace demo --from 0 --target cassandra:c1/notable")]
    [InlineData("mutate kv-mutations")]
    [InlineData("up --regions 3")]
    public async Task BadCommandLine_Exit2WithHelpPointer(string commandLine)
    {
        var run = await OperatorStackFixture.RunAsync(commandLine.Split(' '));

        Assert.Equal(ExitCodes.Usage, run.Exit);
        Assert.Contains("error:", run.Error, StringComparison.Ordinal);
        Assert.Contains("--help' for usage", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dlq_KafkaUnreachable_Exit1WithNextStep()
    {
        var run = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", "demo", "--bootstrap-servers", "127.0.0.1:1");

        Assert.Equal(ExitCodes.Failed, run.Exit);
        Assert.Contains("--bootstrap-servers", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Namespaces_IngressUnreachable_Exit1SaysHowToStartIt()
    {
        var run = await OperatorStackFixture.RunAsync("namespaces", "list", "--address", "http://127.0.0.1:1");

        Assert.Equal(ExitCodes.Failed, run.Exit);
        Assert.Contains("next: Start", run.Error, StringComparison.Ordinal);
    }
}
