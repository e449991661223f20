using System.Diagnostics;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;
using Xunit.Abstractions;

namespace Wal.Ingress.Tests;

/// <summary>Bounds on what the ingress holds: per-stream in-flight requests and per-namespace in-flight bytes.</summary>
[Collection(SoloCollection.Name)]
public sealed class BackPressureTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task WriteToLogStream_KafkaStalled_ReadsNoMoreThanTheBoundThenDrains()
    {
        const int bound = 8;
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.MaxStreamInFlight = bound;
            o.ProduceTimeout = TimeSpan.FromSeconds(10);
            o.ProducerSettings["reconnect.backoff.max.ms"] = "100";
        });
        using var meter = new InFlightMeter(host);
        using var client = new GrpcTestClient(host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders });
        host.Kafka.SetBrokerDown(1);
        var body = Enumerable.Range(1, 40)
            .SelectMany(i => GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Payload = ByteString.CopyFromUtf8("x") }))
            .ToArray();

        var call = client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, body);
        await Eventually.WaitUntilAsync(() => meter.Current == bound, Deadline, $"{bound} writes did not come to be held");
        // The stream is full: no further request may be taken while Kafka holds these.
        await Task.Delay(500);
        Assert.Equal(bound, meter.Current);
        host.Kafka.SetBrokerUp(1);
        var response = await call;

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(40, response.Messages.Count);
        Assert.Equal(bound, meter.Max);
    }

    [Fact]
    public async Task WriteToLog_NamespaceInFlightBytesFull_ResourceExhaustedAtOnceNothingProduced()
    {
        // Long enough that the three admitted writes cannot time out, and free their room, while
        // the other seven are still arriving on a slow machine.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.ProduceTimeout = TimeSpan.FromSeconds(30);
            o.ProducerSettings["reconnect.backoff.max.ms"] = "100";
        });
        using var client = new GrpcTestClient(host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("warm-up"));
        host.Kafka.SetBrokerDown(1);

        // Each record is a little over 500 bytes: three fit under the 2000-byte bound.
        var calls = Enumerable.Range(0, 10).Select(i => (Started: Stopwatch.GetTimestamp(), Call: client.CallAsync(WriteAheadLogService.WriteToLogPath, Write($"w{i}")))).ToList();
        var timed = calls.Select(async c => (Response: await c.Call, Elapsed: Stopwatch.GetElapsedTime(c.Started))).ToList();
        // The shed answers come at once; the admitted ones wait for the broker.
        await Eventually.WaitUntilAsync(() => timed.Count(t => t.IsCompleted) >= 7, Deadline, "the seven shed answers did not arrive");
        host.Kafka.SetBrokerUp(1);
        var responses = await Task.WhenAll(timed);

        var shed = responses.Where(r => r.Response.Status == StatusCode.ResourceExhausted).ToList();
        Assert.Equal(7, shed.Count);
        Assert.All(shed, r => Assert.True(r.Elapsed < TimeSpan.FromSeconds(1.5), $"shed after {r.Elapsed}, not at once"));
        Assert.All(shed, r => Assert.Equal(Trilean.False, Assert.Single(r.Response.Details!.Details).Unpack<WriteToLogResponse>().Durable));
        // Room comes back with some answer from Kafka, at no time the ingress can tell: no pushback, the client's own backoff.
        Assert.All(shed, r => Assert.Null(r.Response.Trailer("grpc-retry-pushback-ms")));
        var admitted = responses.Where(r => r.Response.Status == StatusCode.OK).Select(r => WriteToLogResponse.Parser.ParseFrom(Assert.Single(r.Response.Messages))).ToList();
        Assert.Equal(3, admitted.Count);
        Assert.All(admitted, a => Assert.Equal(Trilean.True, a.Durable));
        var after = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("after"));
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(after.Messages)).Durable);
        var ids = host.ReadAll(host.TopicOf(TestNamespaces.Tight)).Select(r => r.Entry.Id).ToHashSet();
        Assert.DoesNotContain(shed, r => ids.Contains(Assert.Single(r.Response.Details!.Details).Unpack<WriteToLogResponse>().Id));
        Assert.All(admitted, a => Assert.Contains(a.Id, ids));
    }

    [Fact]
    public async Task WriteToLog_InstanceInFlightBytesFull_ResourceExhaustedNamingTheInstanceBoundNotTheNamespaces()
    {
        // The namespace's bound (64 MiB by default) is far off; the instance's (2 KiB) is what is full. A message
        // naming the namespace's quota would send an operator to raise a bound that was never reached.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.MaxReceiveMessageSize = 1024;
            o.MaxInFlightBytes = 2048;
            o.ProduceTimeout = TimeSpan.FromSeconds(30);
            o.ProducerSettings["reconnect.backoff.max.ms"] = "100";
        });
        using var meter = new InFlightMeter(host);
        using var client = new GrpcTestClient(host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders });
        host.Kafka.SetBrokerDown(1);
        WriteToLogRequest Write(string id) => new() { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFrom(new byte[900]) };

        var held = new[] { client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("held-1")), client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("held-2")) };
        await Eventually.WaitUntilAsync(() => meter.Current == 2, Deadline, "the two writes that fit were not held");
        var shed = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("shed"));
        host.Kafka.SetBrokerUp(1);
        await Task.WhenAll(held);

        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(StatusCode.ResourceExhausted, shed.Status);
        Assert.Contains("MaxInFlightBytes", shed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("quota.max_in_flight_bytes", shed.Message, StringComparison.Ordinal);
        // And the metric too: shed for the namespace's bound sent operators after a bound nobody reached.
        Assert.Contains($"wal_ingress_shed_total{{namespace=\"{TestNamespaces.Orders}\",reason=\"instance_in_flight_bytes\"}} 1\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteToLog_ProducerQueueFullBeforeTheByteBounds_ResourceExhaustedAtOnceAndCountedAsShed()
    {
        // librdkafka holds at most queue.buffering.max.messages records (100,000 by default) until Kafka answers. Small
        // writes meet that count long before the byte bounds (100,000 records of ~100 bytes are 10 MB of 256 MiB): with
        // the broker away, every write beyond it is refused inside Produce. That refusal is shedding like any other,
        // "retry later", and was answered OK with durable FALSE and counted nowhere as shed.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.ProduceTimeout = TimeSpan.FromSeconds(30);
            o.ProducerSettings["queue.buffering.max.messages"] = "2";
            o.ProducerSettings["reconnect.backoff.max.ms"] = "100";
        });
        using var meter = new InFlightMeter(host);
        using var client = new GrpcTestClient(host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders });
        host.Kafka.SetBrokerDown(1);
        WriteToLogRequest Write(string id) => new() { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFromUtf8(id) };

        var held = new[] { client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("held-1")), client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("held-2")) };
        await Eventually.WaitUntilAsync(() => meter.Current == 2, Deadline, "the two writes the producer's queue holds did not come to be held");
        var shed = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("shed"));
        host.Kafka.SetBrokerUp(1);
        var admitted = await Task.WhenAll(held);
        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.True(shed.Status == StatusCode.ResourceExhausted, $"{shed.Status} {shed.Message} {string.Join(",", shed.Messages.Select(m => WriteToLogResponse.Parser.ParseFrom(m).Message))}");
        Assert.Equal(Trilean.False, Assert.Single(shed.Details!.Details).Unpack<WriteToLogResponse>().Durable);
        Assert.Contains($"wal_ingress_shed_total{{namespace=\"{TestNamespaces.Orders}\",reason=\"producer_queue\"}} 1\n", metrics, StringComparison.Ordinal);
        Assert.All(admitted, a => Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(a.Messages)).Durable));
        Assert.DoesNotContain(host.ReadAll(host.TopicOf(TestNamespaces.Orders)), r => r.Entry.Id == "shed");
    }

    [Fact]
    public async Task WriteToLog_FloodFarBeyondTheInFlightBound_ShedsAtOnceMemoryBoundedAdmittedAllInTheTopic()
    {
        const int requests = 5000;
        const int concurrency = 400;
        const int payloadBytes = 32 * 1024;
        const long bound = 1024 * 1024;
        var rtt = TimeSpan.FromSeconds(5);
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.MaxInFlightBytes = bound;
            o.MaxReceiveMessageSize = 128 * 1024;
            o.ProduceTimeout = TimeSpan.FromSeconds(30);
        });
        using var inFlightBytes = new InFlightMeter(host, "wal_ingress_in_flight_bytes");
        using var client = new GrpcTestClient(host.Address, handler: new SocketsHttpHandler { EnableMultipleHttp2Connections = true });
        var payloadField = SharedPayloadContent.PayloadField(payloadBytes);
        Assert.Equal(Trilean.True, (await CallAsync(client, "warm-up", payloadField)).Response.Durable);
        // Every Kafka answer now takes five seconds: admitted writes pile up against the bound.
        host.Kafka.SetBrokerRoundTrip(1, rtt);

        FloodCall[] calls;
        await using (var memory = MemorySampler.Start(TimeSpan.FromMilliseconds(250)))
        {
            var started = Stopwatch.GetTimestamp();
            calls = await FloodAsync(client, requests, concurrency, payloadField);
            output.WriteLine($"{requests} calls in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s, {calls.Count(c => c.Status == StatusCode.OK)} admitted; "
                + $"live heap +{memory.LiveGrowth / 1024 / 1024} MiB, working set +{memory.WorkingSetGrowth / 1024 / 1024} MiB over {memory.Samples} samples");
            Assert.True(memory.Samples >= 3, $"only {memory.Samples} memory samples");
            // 5000 × 32 KiB = 156 MiB are offered. What the server may hold is what it is reading
            // (the calls open at once, each buffered whole before it is parsed, and once more as
            // the parsed request) plus the bound awaiting Kafka: it must not grow with the calls shed.
            const long receiving = 2L * concurrency * payloadBytes;
            Assert.True(memory.LiveGrowth < receiving + bound + (16 << 20), $"live managed heap grew by {memory.LiveGrowth / 1024 / 1024} MiB");
            Assert.True(memory.WorkingSetGrowth < (2 * receiving) + (64 << 20), $"working set grew by {memory.WorkingSetGrowth / 1024 / 1024} MiB");
        }

        host.Kafka.SetBrokerRoundTrip(1, TimeSpan.Zero);
        Assert.True(inFlightBytes.Max <= bound, $"{inFlightBytes.Max} bytes awaited Kafka at once");
        var shed = calls.Where(c => c.Status == StatusCode.ResourceExhausted).ToList();
        var admitted = calls.Where(c => c.Status == StatusCode.OK).ToList();
        Assert.Equal(requests, shed.Count + admitted.Count);
        Assert.True(shed.Count >= requests * 3 / 4, $"only {shed.Count} of {requests} shed");
        Assert.NotEmpty(admitted);
        Assert.All(shed, c => Assert.Equal(Trilean.False, c.Response.Durable));
        // Shed answers never wait for Kafka: each came back (counted from the request's last byte)
        // before a broker round trip could have; what time they took is the server's queue of
        // 400 calls on a busy machine, so the median is held to a fraction of the round trip.
        Assert.All(shed, c => Assert.True(c.Answered < rtt, $"{c.Id} shed {c.Answered.TotalMilliseconds:0} ms after it was sent"));
        var median = shed.Select(c => c.Answered).Order().ElementAt(shed.Count / 2);
        output.WriteLine($"shed: median {median.TotalMilliseconds:0} ms, slowest {shed.Max(c => c.Answered).TotalMilliseconds:0} ms");
        Assert.True(median < rtt / 5, $"median shed answer took {median.TotalMilliseconds:0} ms");
        Assert.All(admitted, c => Assert.Equal(Trilean.True, c.Response.Durable));

        var topic = host.TopicOf(TestNamespaces.Bare);
        var inTopic = host.ReadAll(topic).Where(r => r.Entry.Id != "warm-up").ToDictionary(r => r.Entry.Id);
        // Every TRUE is in the topic where its answer said, and nothing shed (FALSE) is.
        Assert.Equal(admitted.Select(c => c.Id).Order(), inTopic.Keys.Order());
        foreach (var call in admitted)
        {
            var record = inTopic[call.Id];
            Assert.Equal((topic, record.Partition, record.Offset), (call.Response.Position.Topic, call.Response.Position.Partition, call.Response.Position.Offset));
            Assert.Equal(payloadBytes, record.Entry.Payload.Length);
        }
    }

    [Fact]
    public async Task WriteToLog_ManyCallsAlmostSent_HoldOnlyMaxReceivingBytesRestResourceExhausted()
    {
        // Room for four 60 KiB messages all but arrived. Twenty callers each send all but the last
        // byte of one and stop: without the bound the instance would hold all twenty, and any number
        // more. What arrives is what is held, and the callers' pieces interleave, so which callers
        // (and how many, up to four) keep their room is not fixed.
        const int callers = 20;
        const int room = 4;
        const int bound = 256 * 1024;
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.MaxReceiveMessageSize = 64 * 1024;
            o.MaxReceivingBytes = bound;
        });
        using var receiving = new InFlightMeter(host, "wal_ingress_receiving_bytes");
        using var client = new GrpcTestClient(host.Address, handler: new SocketsHttpHandler { EnableMultipleHttp2Connections = true });
        var frames = Enumerable.Range(0, callers).Select(i => GrpcTestClient.Frame(new WriteToLogRequest
        {
            Namespace = TestNamespaces.Bare,
            Id = $"almost-{i:D2}",
            Payload = ByteString.CopyFrom(new byte[60 * 1024]),
            Target = new Target { Kafka = new KafkaTarget { Topic = "elsewhere" } },
        })).ToList();
        // Ids of one width: every caller holds the same bytes (what it sent of its message, past the 5-byte header).
        var sent = frames[0].Length - 1;
        var holds = sent - 5L;
        var bodies = frames.Select(f => new DuplexContent(f[..sent])).ToList();
        var calls = bodies.Select(b => client.SendAsync(WriteAheadLogService.WriteToLogPath, b)).ToList();

        // Settled: every caller still open holds all it sent, and no refused one holds anything.
        await Eventually.WaitUntilAsync(() => Task.FromResult(calls.Count(c => c.IsCompleted) >= callers - room && receiving.Current == calls.Count(c => !c.IsCompleted) * holds), Deadline,
            () => $"at most {room} callers holding their {holds} bytes, the rest refused ({calls.Count(c => c.IsCompleted)} answered, {receiving.Current} bytes held)");
        var refused = calls.Where(c => c.IsCompleted).Select(c => c.Result).ToList();
        Assert.All(refused, r => Assert.Equal(StatusCode.ResourceExhausted, r.Status));
        Assert.All(refused, r => Assert.Contains("not yet whole", r.Message, StringComparison.Ordinal));

        var held = Enumerable.Range(0, callers).Where(i => !calls[i].IsCompleted).ToList();
        Assert.InRange(held.Count, 1, room);
        foreach (var i in held)
        {
            await bodies[i].SendAsync(frames[i][sent..]);
            bodies[i].HalfClose();
        }

        var answers = await Task.WhenAll(held.Select(i => calls[i])).WaitAsync(Deadline);
        Assert.All(answers, a => Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(a.Messages)).Durable));
        await Eventually.WaitUntilAsync(() => Task.FromResult(receiving.Current == 0), Deadline, () => $"every byte given back ({receiving.Current} held)");
        Assert.True(receiving.Max <= bound, $"{receiving.Max} bytes of messages were held at once");
        var inTopic = host.ReadAll(host.TopicOf(TestNamespaces.Bare)).Select(r => r.Entry.Id).Order().ToList();
        Assert.Equal(held.Select(i => $"almost-{i:D2}").Order(), inTopic);
    }

    private static async Task<FloodCall[]> FloodAsync(GrpcTestClient client, int requests, int concurrency, byte[] payloadField)
    {
        var calls = new FloodCall[requests];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < requests; i = Interlocked.Increment(ref next))
            {
                calls[i] = await CallAsync(client, $"flood-{i}", payloadField);
            }
        })));
        return calls;
    }

    private static async Task<FloodCall> CallAsync(GrpcTestClient client, string id, byte[] payloadField)
    {
        var content = new SharedPayloadContent(
            new WriteToLogRequest { Namespace = TestNamespaces.Bare, Id = id, Target = new Target { Kafka = new KafkaTarget { Topic = "elsewhere" } } },
            payloadField);
        var response = await client.SendAsync(WriteAheadLogService.WriteToLogPath, [], r => r.Content = content);
        var answered = Stopwatch.GetElapsedTime(content.SentAt);
        content.Dispose();
        var answer = response.Status == StatusCode.OK
            ? WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages))
            : Assert.Single(response.Details!.Details).Unpack<WriteToLogResponse>();
        return new FloodCall(id, response.Status, answer, answered);
    }

    private sealed record FloodCall(string Id, StatusCode? Status, WriteToLogResponse Response, TimeSpan Answered);

    private static WriteToLogRequest Write(string id) =>
        new() { Namespace = TestNamespaces.Tight, Id = id, Payload = ByteString.CopyFrom(new byte[500]) };
}
