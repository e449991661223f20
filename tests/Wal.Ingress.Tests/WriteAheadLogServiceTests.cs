using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>The service over h2c with hand-built requests: bad input, mutations and the stream.</summary>
public sealed class WriteAheadLogServiceTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    private IngressTestHost Host => fixture.Host;

    [Fact]
    public async Task WriteToLog_WrongContentType_GrpcErrorAndStillServing()
    {
        using var client = new GrpcTestClient(Host.Address);
        var request = new WriteToLogRequest { Namespace = TestNamespaces.Orders, Payload = ByteString.CopyFromUtf8("x") };

        var refused = await client.SendAsync(WriteAheadLogService.WriteToLogPath, GrpcTestClient.Frame(request), contentType: "application/json");
        var accepted = await client.CallAsync(WriteAheadLogService.WriteToLogPath, request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.HttpStatus);
        Assert.Equal(StatusCode.Internal, refused.Status);
        Assert.Contains("application/json", refused.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.OK, accepted.Status);
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(accepted.Messages)).Durable);
    }

    public static TheoryData<string, WriteToLogRequest, string> InvalidRequests => new()
    {
        { "negative delay", Write(TestNamespaces.Orders, new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(-1)) }), "lifecycle.delay" },
        { "delay over max_delay", Write(TestNamespaces.Orders, new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromHours(2)) }), "max_delay" },
        { "deliver_at over max_delay", Write(TestNamespaces.Orders, new Lifecycle { DeliverAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)) }), "max_delay" },
        { "negative jitter", Write(TestNamespaces.Orders, new Lifecycle { Jitter = Duration.FromTimeSpan(TimeSpan.FromSeconds(-5)) }), "lifecycle.jitter" },
        { "delay plus jitter over max_delay", Write(TestNamespaces.Orders, new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMinutes(50)), Jitter = Duration.FromTimeSpan(TimeSpan.FromMinutes(20)) }), "max_delay" },
        { "no target, no default", Write(TestNamespaces.Bare, null), "default_target" },
        { "empty target", Write(TestNamespaces.Orders, null, new Target()), "names no destination" },
        { "memcached key with space", Write(TestNamespaces.Orders, null, new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "a b" } }), "target.memcached.key" },
        { "memcached key not UTF-8 (read as U+FFFD)", Write(TestNamespaces.Orders, null, new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "user-\uFFFD" } }), "target.memcached.key" },
        // The memcached sink refuses a key with any control character (U+0085 is NEL, also a line break), C1 included:
        // taken, the write was TRUE and then dead-lettered at its first attempt.
        { "memcached key with a C1 control character", Write(TestNamespaces.Orders, null, new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "a\u0085b" } }), "target.memcached.key" },
        { "memcached without a cluster", Write(TestNamespaces.Orders, null, new Target { Memcached = new MemcachedTarget { Key = "k" } }), "target.memcached.cluster" },
        { "upstream not http", Write(TestNamespaces.Orders, null, new Target { Upstream = new UpstreamTarget { Url = "ftp://x" } }), "target.upstream.url" },
        { "kafka target into the control plane", Write(TestNamespaces.Orders, null, new Target { Kafka = new KafkaTarget { Topic = "wal.namespaces" } }), "control-plane topic" },
        { "kafka target into another namespace's log", Write(TestNamespaces.Orders, null, new Target { Kafka = new KafkaTarget { Topic = "wal." + TestNamespaces.Guarded } }), "the log of namespace 'guarded'" },
        { "kafka target into the topology's state", Write(TestNamespaces.Orders, null, new Target { Kafka = new KafkaTarget { Topic = "wal-topology-orders-timers-changelog" } }), "a topic of the topology 'wal-topology'" },
        { "kafka delete without a key", Write(TestNamespaces.Orders, null, new Target { Kafka = new KafkaTarget { Topic = "orders-out", Delete = true } }), "target.kafka.key: a delete needs the key" },
        { "kafka target into Kafka's own topics", Write(TestNamespaces.Orders, null, new Target { Kafka = new KafkaTarget { Cluster = "b", Topic = "__consumer_offsets" } }), "target.kafka.topic" },
        { "upstream timeout not normalized", Write(TestNamespaces.Orders, null, Upstream(u => u.Timeout = new Duration { Seconds = 1, Nanos = -1 })), "target.upstream.timeout" },
        { "upstream header with a line break", Write(TestNamespaces.Orders, null, Upstream(u => u.Headers["X-A"] = "v\r\nX-Injected: 1")), "target.upstream.headers" },
        { "upstream header not ASCII", Write(TestNamespaces.Orders, null, Upstream(u => u.Headers["X-Tenant"] = "café")), "'X-Tenant'" },
        { "upstream header set by Wal", Write(TestNamespaces.Orders, null, Upstream(u => u.Headers["wal-delivery-id"] = "x")), "set by Wal" },
        { "invalid namespace name", Write("Not Valid!", null), "not a valid namespace name" },
    };

    private static Target Upstream(Action<UpstreamTarget> change)
    {
        var target = new UpstreamTarget { Url = "http://127.0.0.1:9/hook" };
        change(target);
        return new Target { Upstream = target };
    }

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task WriteToLog_InvalidRequest_InvalidArgumentNamingFieldNothingProduced(string why, WriteToLogRequest request, string expected)
    {
        using var client = new GrpcTestClient(Host.Address);
        var before = Host.Registry.All.Sum(n => Host.CountRecords(n.Topic));

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, request);

        Assert.True(response.Status == StatusCode.InvalidArgument, $"{why}: {response.Status} {response.Message}");
        Assert.Contains(expected, response.Message, StringComparison.Ordinal);
        Assert.Equal(Trilean.False, Assert.Single(response.Details!.Details).Unpack<WriteToLogResponse>().Durable);
        Assert.Equal(before, Host.Registry.All.Sum(n => Host.CountRecords(n.Topic)));
    }

    [Fact]
    public async Task Refusal_QuotingHugeCallerInput_StaysReadable_FalseNotATransportError()
    {
        // Messages quote the caller's input; 30,000 characters of it, three times over in the trailers, passed .NET's
        // 64 KiB header limit, and the client, unable to read the refusal, answered UNKNOWN for a write never produced.
        using var client = new Wal.Client.WalClient(new Wal.Client.WalClientOptions { Address = Host.Address });
        var huge = new string('a', 30_000);
        var badUrl = new WriteToLogRequest
        {
            Namespace = TestNamespaces.Orders, Id = "huge-url", Payload = ByteString.CopyFromUtf8("x"),
            Target = new Target { Upstream = new UpstreamTarget { Url = huge } },
        };

        var write = await client.WriteToLogAsync(badUrl);

        Assert.Equal(Trilean.False, write.Durable);
        Assert.Contains("more characters", write.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteToLog_TargetInRequest_OverridesDefaultAndKeysByCacheKey()
    {
        using var client = new GrpcTestClient(Host.Address);
        var target = new Target { Memcached = new MemcachedTarget { Cluster = "c1", Key = "user:42" } };
        var first = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.Bare, null, target, "k-1"));
        var second = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.Bare, null, target, "k-2"));

        var positions = new[] { first, second }.Select(r => WriteToLogResponse.Parser.ParseFrom(Assert.Single(r.Messages)).Position).ToList();
        Assert.Equal(positions[0].Partition, positions[1].Partition);
        Assert.True(positions[1].Offset > positions[0].Offset);
        var records = Host.ReadAll(Host.TopicOf(TestNamespaces.Bare)).Where(r => r.Entry.Id.StartsWith("k-", StringComparison.Ordinal)).ToList();
        Assert.All(records, r => Assert.Equal("user:42", r.Entry.Target.Memcached.Key));
        Assert.Equal(["k-1", "k-2"], records.Select(r => r.Entry.Id));
    }

    [Fact]
    public async Task WriteToLog_OverRateQuota_ResourceExhaustedNothingProduced()
    {
        using var client = new GrpcTestClient(Host.Address);
        var responses = new List<GrpcResponse>();
        for (var i = 0; i < 5; i++)
        {
            responses.Add(await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.Limited, null, id: $"rate-{i}")));
        }

        Assert.Equal(2, responses.Count(r => r.Status == StatusCode.OK));
        var shed = responses.Where(r => r.Status == StatusCode.ResourceExhausted).ToList();
        Assert.Equal(3, shed.Count);
        Assert.All(shed, r => Assert.Contains("writes_per_second", r.Message, StringComparison.Ordinal));
        Assert.Equal(2, Host.CountRecords(Host.TopicOf(TestNamespaces.Limited)));
    }

    [Fact]
    public async Task WriteToLog_RecordLargerThanTheNamespaceInFlightBound_ResourceExhaustedSayingItNeverFits()
    {
        // Within max_payload_bytes (1 MiB) but above the namespace's 2000-byte in-flight bound, with nothing in flight:
        // no retry can ever admit it, so "retry later" would send the caller round for good.
        using var client = new GrpcTestClient(Host.Address);
        var id = $"never-fits-{Guid.NewGuid():N}";
        var tooBig = new WriteToLogRequest { Namespace = TestNamespaces.Tight, Id = id, Payload = ByteString.CopyFrom(new byte[3000]) };

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, tooBig);

        Assert.Equal(StatusCode.ResourceExhausted, response.Status);
        Assert.Equal(Trilean.False, Assert.Single(response.Details!.Details).Unpack<WriteToLogResponse>().Durable);
        Assert.DoesNotContain("retry later", response.Message, StringComparison.Ordinal);
        Assert.Contains("never", response.Message, StringComparison.Ordinal);
        Assert.Contains($"quota.max_in_flight_bytes of {TestNamespaces.TightMaxInFlightBytes}", response.Message, StringComparison.Ordinal);
        // And clients that retry RESOURCE_EXHAUSTED by themselves are told not to.
        Assert.Equal("-1", response.Trailer("grpc-retry-pushback-ms"));
        Assert.DoesNotContain(Host.ReadAll(Host.TopicOf(TestNamespaces.Tight)), r => r.Entry.Id == id);
    }

    [Fact]
    public async Task WriteToLog_ShedForRoom_SpendsNoRateToken()
    {
        using var client = new GrpcTestClient(Host.Address);
        var tooBig = new WriteToLogRequest { Namespace = TestNamespaces.LimitedTight, Id = "too-big", Payload = ByteString.CopyFrom(new byte[(int)TestNamespaces.LimitedTightMaxInFlightBytes]) };

        var shed = await client.CallAsync(WriteAheadLogService.WriteToLogPath, tooBig);
        var fits = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.LimitedTight, null, id: "fits"));
        var overRate = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.LimitedTight, null, id: "over-rate"));

        Assert.Equal(StatusCode.ResourceExhausted, shed.Status);
        Assert.Contains("awaiting Kafka", shed.Message, StringComparison.Ordinal);
        // The burst is one write: it is still there for the write that fits.
        Assert.True(fits.Status == StatusCode.OK, $"{fits.Status} {fits.Message}");
        Assert.Equal(StatusCode.ResourceExhausted, overRate.Status);
        Assert.Contains("writes_per_second", overRate.Message, StringComparison.Ordinal);
        // The next token is due 1000 s after the burst's (0.001 writes a second), less the moments since.
        var pushback = overRate.Trailer("grpc-retry-pushback-ms");
        Assert.NotNull(pushback);
        Assert.InRange(long.Parse(pushback, System.Globalization.CultureInfo.InvariantCulture), 990_000, 1_000_000);
    }

    // A rate near zero puts the next token further off than a TimeSpan reaches. Working out the pushback threw: the
    // write failed as INTERNAL, and the bytes it had reserved were never given back, so such a namespace's writers
    // filled the instance's MaxInFlightBytes and every namespace on it was shed.
    [Fact]
    public async Task WriteToLog_OverARateNearZero_ResourceExhaustedAndItsBytesGivenBack()
    {
        using var client = new GrpcTestClient(Host.Address);
        var limiter = Host.App.Services.GetRequiredService<InFlightLimiter>();
        var burst = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.Standstill, null, id: "standstill-burst"));
        Assert.True(burst.Status == StatusCode.OK, $"{burst.Status} {burst.Message}");
        await Eventually.WaitUntilAsync(() => limiter.BytesOf(TestNamespaces.Standstill) == 0, TimeSpan.FromSeconds(20), "the burst write's bytes to be given back");

        var overRate = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.Standstill, null, id: "standstill-over"));

        Assert.True(overRate.Status == StatusCode.ResourceExhausted, $"{overRate.Status} {overRate.Message}");
        Assert.Contains("writes_per_second", overRate.Message, StringComparison.Ordinal);
        Assert.NotNull(overRate.Trailer("grpc-retry-pushback-ms"));
        Assert.Equal(0, limiter.BytesOf(TestNamespaces.Standstill));
    }

    [Fact]
    public async Task WriteToLog_NoId_AssignsOne()
    {
        using var client = new GrpcTestClient(Host.Address);

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(TestNamespaces.Orders, null));

        var body = WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages));
        Assert.True(Guid.TryParse(body.Id, out var id));
        Assert.Equal(7, id.Version);
    }

    [Fact]
    public async Task Mutation_ChunksAndCompletion_TrueInOnePartitionInOrder()
    {
        using var client = new GrpcTestClient(Host.Address);
        var positions = new List<LogPosition>();
        for (uint i = 0; i < 3; i++)
        {
            var chunk = new MutationChunk
            {
                Namespace = TestNamespaces.Mutations,
                RequestId = "mut-1",
                Sequence = i,
                Table = "users",
                Put = new Put { Key = ByteString.CopyFromUtf8($"row{i}"), Value = ByteString.CopyFromUtf8("v") },
                Version = 100 + i,
            };
            positions.Add(await CallTrueAsync(client, WriteAheadLogService.WriteMutationChunkPath, chunk));
        }

        positions.Add(await CallTrueAsync(client, WriteAheadLogService.CompleteMutationPath,
            new MutationCompletion { Namespace = TestNamespaces.Mutations, RequestId = "mut-1", ChunkCount = 3 }));

        Assert.Single(positions.Select(p => p.Partition).Distinct());
        var records = Host.ReadAll(Host.TopicOf(TestNamespaces.Mutations)).Where(r => r.Entry.Id.StartsWith("mut-1/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["mut-1/0", "mut-1/1", "mut-1/2", "mut-1/complete"], records.Select(r => r.Entry.Id));
        Assert.All(records, r => Assert.Equal("mut-1"u8.ToArray(), r.Key));
        Assert.Equal(3u, records[^1].Entry.Completion.ChunkCount);
        Assert.Equal("row1", records[1].Entry.Chunk.Put.Key.ToStringUtf8());
    }

    [Fact]
    public async Task MutationChunk_NamespaceWithoutPersona_FailedPrecondition()
    {
        using var client = new GrpcTestClient(Host.Address);
        var chunk = new MutationChunk { Namespace = TestNamespaces.Orders, RequestId = "r", Table = "t", Delete = new Delete { Key = ByteString.CopyFromUtf8("k") } };

        var response = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath, chunk);

        Assert.Equal(StatusCode.FailedPrecondition, response.Status);
        Assert.Contains("PERSONA_MULTI_TABLE_MUTATION", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutationChunk_NoOperation_InvalidArgument()
    {
        using var client = new GrpcTestClient(Host.Address);

        var response = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.Mutations, RequestId = "r", Table = "t" });

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Contains("operation", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutationChunk_KeyNotUtf8_ToAMemcachedDefault_InvalidArgumentNothingWritten()
    {
        // Memcached keys are text: "k\xFF" and "k\xFE" both decode to "k\uFFFD", one item for two keys.
        using var client = new GrpcTestClient(Host.Address);
        var topic = Host.TopicOf(TestNamespaces.Mutations);

        var response = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.Mutations, RequestId = "r-bytes", Table = "t", Put = new Put { Key = ByteString.CopyFrom(0x6B, 0xFF) } });

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Contains("put.key: must be UTF-8", response.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Host.ReadAll(topic), r => r.Entry.Chunk?.RequestId == "r-bytes");
    }

    // A Cassandra delete names its row by its key columns, a JSON object of them: any other key could only be
    // dead-lettered after the caller was told TRUE.
    [Theory]
    [InlineData("5")]
    [InlineData("[{\"id\": 1}]")]
    [InlineData("{}")]
    [InlineData("{\"id\": 1} trailing")]
    [InlineData("id=1")]
    public async Task MutationChunk_DeleteKeyNotAJsonObjectOfColumns_ToACassandraDefault_InvalidArgumentNothingWritten(string key)
    {
        using var client = new GrpcTestClient(Host.Address);
        var topic = Host.TopicOf(TestNamespaces.CassandraMutations);
        var requestId = $"r-delete-{Guid.NewGuid():N}";

        var response = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.CassandraMutations, RequestId = requestId, Table = "orders", Delete = new Delete { Key = ByteString.CopyFromUtf8(key) } });

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Contains("delete.key: must be a JSON object of the row's key columns", response.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Host.ReadAll(topic), r => r.Entry.Chunk?.RequestId == requestId);
    }

    [Fact]
    public async Task MutationChunk_DeleteKeyAJsonObjectOfColumns_ToACassandraDefault_TrueAndAPutsValueIsNotJudged()
    {
        // The columns themselves (types, a name given twice) are the sink's to judge, as a put's row is.
        using var client = new GrpcTestClient(Host.Address);

        var delete = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.CassandraMutations, RequestId = "r-delete-ok", Table = "orders", Delete = new Delete { Key = ByteString.CopyFromUtf8("{\"id\": 1}") } });
        var put = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.CassandraMutations, RequestId = "r-put-ok", Table = "orders", Put = new Put { Key = ByteString.CopyFromUtf8("1"), Value = ByteString.CopyFromUtf8("{\"id\": 1}") } });

        Assert.All([delete, put], r => Assert.True(r.Status == StatusCode.OK, $"{r.Status} {r.Message}"));
        Assert.All([delete, put], r => Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(r.Messages)).Durable));
    }

    // A chunk is applied to its namespace's default target: with none, no chunk or completion can ever be applied, and
    // accepting them would only end in a dead letter after the caller was told TRUE.
    [Fact]
    public async Task Mutation_NamespaceWithoutADefaultTarget_FailedPreconditionNothingWritten()
    {
        using var client = new GrpcTestClient(Host.Address);
        var topic = Host.TopicOf(TestNamespaces.MutationsWithoutTarget);

        var chunk = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.MutationsWithoutTarget, RequestId = "r-untargeted", Table = "t", Put = new Put { Key = ByteString.CopyFromUtf8("k") } });
        var completion = await client.CallAsync(WriteAheadLogService.CompleteMutationPath,
            new MutationCompletion { Namespace = TestNamespaces.MutationsWithoutTarget, RequestId = "r-untargeted", ChunkCount = 1 });

        Assert.All([chunk, completion], r => Assert.Equal(StatusCode.FailedPrecondition, r.Status));
        Assert.All([chunk, completion], r => Assert.Contains("no default_target", r.Message, StringComparison.Ordinal));
        Assert.Empty(Host.ReadAll(topic));
    }

    // The table of a chunk to a Kafka default target is the topic it is written to: the same topics a Kafka target may
    // not name (Wal's own, which it reads) are refused, as WriteToLog refuses them.
    [Theory]
    [InlineData(TestNamespaces.Orders, "the log of namespace 'orders'")]
    [InlineData("__consumer_offsets", "one of Kafka's internal topics")]
    [InlineData("", "Wal's control-plane topic")]
    public async Task MutationChunk_TableIsOneOfWalsOwnTopics_ToAKafkaDefault_InvalidArgumentNothingWritten(string table, string why)
    {
        using var client = new GrpcTestClient(Host.Address);
        var topic = Host.TopicOf(TestNamespaces.KafkaMutations);
        table = table switch
        {
            TestNamespaces.Orders => Host.TopicOf(TestNamespaces.Orders),
            "" => ControlPlaneOptions.DefaultTopic,
            _ => table,
        };

        var response = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.KafkaMutations, RequestId = "r-own-topic", Table = table, Put = new Put { Key = ByteString.CopyFromUtf8("k") } });

        Assert.True(response.Status == StatusCode.InvalidArgument, $"{response.Status} {response.Message}");
        Assert.Contains(why, response.Message, StringComparison.Ordinal);
        Assert.Contains("table", response.Message, StringComparison.Ordinal);
        Assert.Empty(Host.ReadAll(topic));
    }

    // A memcached key with a space, or longer than memcached takes, can never be stored: the sink would refuse it for
    // good, after the caller was told TRUE.
    [Theory]
    [InlineData("two words")]
    [InlineData("a key of 251 bytes")]
    public async Task MutationChunk_KeyMemcachedCannotStore_ToAMemcachedDefault_InvalidArgument(string key)
    {
        using var client = new GrpcTestClient(Host.Address);
        key = key.StartsWith("a key of", StringComparison.Ordinal) ? new string('k', 251) : key;

        var response = await client.CallAsync(WriteAheadLogService.WriteMutationChunkPath,
            new MutationChunk { Namespace = TestNamespaces.Mutations, RequestId = "r-bad-key", Table = "t", Put = new Put { Key = ByteString.CopyFromUtf8(key) } });

        Assert.True(response.Status == StatusCode.InvalidArgument, $"{response.Status} {response.Message}");
        Assert.Contains("key", response.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Host.ReadAll(Host.TopicOf(TestNamespaces.Mutations)), r => r.Entry.Chunk?.RequestId == "r-bad-key");
    }

    [Fact]
    public async Task WriteToLogStream_ManyWritesAboveInFlightBound_OneTrueAckPerClientId()
    {
        using var client = new GrpcTestClient(Host.Address);
        const int count = 200;
        var body = Enumerable.Range(1, count)
            .SelectMany(i => GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Id = $"s-{i}", Payload = ByteString.CopyFromUtf8($"p{i}") }))
            .ToArray();

        var response = await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, body);

        Assert.Equal(StatusCode.OK, response.Status);
        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).ToList();
        Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), acks.Select(a => a.ClientId).Order());
        Assert.All(acks, a => Assert.Equal(Trilean.True, a.Response.Durable));
        Assert.All(acks, a => Assert.Equal($"s-{a.ClientId}", a.Response.Id));
    }

    [Fact]
    public async Task WriteToLogStream_InvalidRequestAmongValid_FalseAckForItOnly()
    {
        using var client = new GrpcTestClient(Host.Address);
        var body = new[]
        {
            new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = 1 },
            new WriteToLogRequest { Namespace = "missing", ClientId = 2 },
            new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = 3 },
        }.SelectMany(GrpcTestClient.Frame).ToArray();

        var response = await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, body);

        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).ToDictionary(a => a.ClientId);
        Assert.Equal(Trilean.True, acks[1].Response.Durable);
        Assert.Equal(Trilean.False, acks[2].Response.Durable);
        Assert.Equal(Trilean.True, acks[3].Response.Durable);
        // The status a unary call would have ended with: the caller can tell "fix it" from "retry later".
        Assert.Equal((int)StatusCode.OK, acks[1].Status);
        Assert.Equal((int)StatusCode.NotFound, acks[2].Status);
    }

    // A stream's ack has no trailers of its own: a shed write's ack carries the pushback a unary call would end with,
    // or none where the ingress cannot tell.
    [Fact]
    public async Task WriteToLogStream_ShedWrites_EachAckCarriesTheRetryPushbackAUnaryCallWould()
    {
        using var client = new GrpcTestClient(Host.Address);
        var body = new[]
        {
            new WriteToLogRequest { Namespace = TestNamespaces.LimitedStream, ClientId = 1 },
            new WriteToLogRequest { Namespace = TestNamespaces.LimitedStream, ClientId = 2 },
            new WriteToLogRequest { Namespace = TestNamespaces.Tight, ClientId = 3, Payload = ByteString.CopyFrom(new byte[3000]) },
            new WriteToLogRequest { Namespace = "missing", ClientId = 4 },
        }.SelectMany(GrpcTestClient.Frame).ToArray();

        var response = await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, body);

        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).ToDictionary(a => a.ClientId);
        Assert.Equal(Trilean.True, acks[1].Response.Durable);
        Assert.False(acks[1].HasRetryPushbackMs);
        // Over the rate: the next token is 1000 s after the burst's, less the moments since.
        Assert.Equal((int)StatusCode.ResourceExhausted, acks[2].Status);
        Assert.True(acks[2].HasRetryPushbackMs, acks[2].ToString());
        Assert.InRange(acks[2].RetryPushbackMs, 990_000, 1_000_000);
        // Larger than its namespace's in-flight bound on its own: never.
        Assert.Equal((int)StatusCode.ResourceExhausted, acks[3].Status);
        Assert.Equal(-1, acks[3].RetryPushbackMs);
        Assert.Equal((int)StatusCode.NotFound, acks[4].Status);
        Assert.False(acks[4].HasRetryPushbackMs);
    }

    [Fact]
    public async Task WriteToLogStream_MalformedMessageAfterValidWrites_TheirAcksComeFirstThenTheError()
    {
        using var client = new GrpcTestClient(Host.Address);
        var good = Enumerable.Range(1, 20)
            .SelectMany(i => GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Id = $"before-bad-{i}" }));
        // A frame whose message is not protobuf: field 1 with wire type 7, which does not exist.
        byte[] bad = [0, 0, 0, 0, 2, 0x0F, 0x01];

        var response = await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, [.. good, .. bad]);

        Assert.NotEqual(StatusCode.OK, response.Status);
        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (ulong)i), acks.Select(a => a.ClientId).Order());
        Assert.All(acks, a => Assert.Equal(Trilean.True, a.Response.Durable));
    }

    private static async Task<LogPosition> CallTrueAsync(GrpcTestClient client, string path, IMessage request)
    {
        var response = await client.CallAsync(path, request);
        Assert.True(response.Status == StatusCode.OK, $"{path}: {response.Status} {response.Message}");
        var body = WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages));
        Assert.Equal(Trilean.True, body.Durable);
        return body.Position;
    }

    private static WriteToLogRequest Write(string @namespace, Lifecycle? lifecycle, Target? target = null, string id = "")
    {
        var request = new WriteToLogRequest { Namespace = @namespace, Payload = ByteString.CopyFromUtf8("payload"), Id = id };
        if (lifecycle is not null)
        {
            request.Lifecycle = lifecycle;
        }

        if (target is not null)
        {
            request.Target = target;
        }

        return request;
    }
}
