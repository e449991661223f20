using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>The Trilean under broker faults injected into the mock cluster; each test has its own cluster.</summary>
public sealed class DurabilityFaultTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(10, "MsgSizeTooLarge")]
    [InlineData(29, "TopicAuthorizationFailed")]
    [InlineData(87, "InvalidRecord")]
    public async Task WriteToLog_NonRetriableBrokerError_FalseWithReason(int kafkaError, string name)
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1);
        using var client = new GrpcTestClient(host.Address);
        await WriteAsync(client, "warm-up");
        host.Kafka.PushRequestErrors(KafkaApi.Produce, kafkaError);

        var response = await WriteAsync(client, "refused");

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains(name, response.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.ReadAll(host.TopicOf(TestNamespaces.Orders)), r => r.Entry.Id == "refused");
    }

    [Fact]
    public async Task WriteToLog_BrokerSaysDuplicateSequence_TrueWithUnknownOffsetAndWhy()
    {
        // DUPLICATE_SEQUENCE_NUMBER: the broker holds the batch from an earlier send, too long ago to say where, and
        // librdkafka reports the record Persisted with no offset. The answer passed on an invalid offset as if it were
        // one. (The mock, unlike a broker, does not append a record it answers with an injected error, so the topic
        // is not checked here.)
        await using var host = await IngressTestHost.StartAsync(brokers: 1);
        using var client = new GrpcTestClient(host.Address);
        var warmUp = await WriteAsync(client, "warm-up");
        host.Kafka.PushRequestErrors(KafkaApi.Produce, 46);

        var response = await WriteAsync(client, "duplicate");

        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal(host.TopicOf(TestNamespaces.Orders), response.Position.Topic);
        Assert.InRange(response.Position.Partition, 0, 2);
        Assert.Equal(-1, response.Position.Offset);
        Assert.Contains("earlier send", response.Message, StringComparison.Ordinal);
        Assert.True(warmUp.Position.Offset >= 0 && warmUp.Message.Length == 0, $"{warmUp}");
    }

    [Fact]
    public async Task WriteToLog_ProducerRefusesAtOnce_FalseWithReasonAndNothingReserved()
    {
        // librdkafka refuses a record above message.max.bytes inside Produce, before any broker
        // sees it: the synchronous refusal path, for a payload the namespace itself allows.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProducerSettings["message.max.bytes"] = "1000");
        using var client = new GrpcTestClient(host.Address);
        using var inFlightBytes = new InFlightMeter(host, "wal_ingress_in_flight_bytes");

        var unary = await WriteAsync(client, Request("too-big-unary", TestNamespaces.OrdersMaxPayload));
        var streamed = await StreamAsync(client, Request("too-big-streamed", TestNamespaces.OrdersMaxPayload));
        var small = await WriteAsync(client, Request("small"));

        Assert.All([unary, streamed], r =>
        {
            Assert.Equal(Trilean.False, r.Durable);
            Assert.Contains("MsgSizeTooLarge", r.Message, StringComparison.Ordinal);
        });
        Assert.Equal(Trilean.True, small.Durable);
        Assert.Equal(["small"], host.ReadAll(host.TopicOf(TestNamespaces.Orders)).Select(r => r.Entry.Id));
        Assert.Equal(0, inFlightBytes.Current);
    }

    [Fact]
    public async Task WriteToLogStream_CountingAnAtOnceRefusalThrows_EachRequestAcknowledgedOnce()
    {
        // A metrics listener that throws (a faulty exporter, say) breaks the bookkeeping after
        // Kafka refused a record inside Produce. The refusal was already acknowledged: the stream
        // must not acknowledge it a second time, nor hand back its slot twice.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProducerSettings["message.max.bytes"] = "1000");
        using var faultyListener = new ThrowingListener(host, "wal_ingress_writes", ("durable", "false"));
        using var client = new GrpcTestClient(host.Address);
        var requests = new[]
        {
            Request("refused", TestNamespaces.OrdersMaxPayload, clientId: 1),
            Request("written", clientId: 2),
        };

        var response = await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, requests.SelectMany(GrpcTestClient.Frame).ToArray());

        Assert.True(response.Status == StatusCode.OK, $"{response.Status} {response.Message}");
        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).OrderBy(a => a.ClientId).ToList();
        Assert.Equal([1UL, 2UL], acks.Select(a => a.ClientId));
        Assert.Equal(Trilean.False, acks[0].Response.Durable);
        Assert.Contains("MsgSizeTooLarge", acks[0].Response.Message, StringComparison.Ordinal);
        Assert.Equal(Trilean.True, acks[1].Response.Durable);
        Assert.True(faultyListener.Thrown > 0, "the listener never threw, so the test proved nothing");
    }

    [Fact]
    public async Task WriteToLogStream_BrokerRefusesAndThenTimesOut_AcksSayFalseThenUnknownAndReservationsEnd()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(1));
        using var client = new GrpcTestClient(host.Address);
        using var inFlightBytes = new InFlightMeter(host, "wal_ingress_in_flight_bytes");
        await WriteAsync(client, "warm-up");
        host.Kafka.PushRequestErrors(KafkaApi.Produce, 87);

        var refused = await StreamAsync(client, "refused");
        host.Kafka.SetBrokerDown(1);
        var unknown = await StreamAsync(client, "timed-out");

        Assert.Equal(Trilean.False, refused.Durable);
        Assert.Contains("InvalidRecord", refused.Message, StringComparison.Ordinal);
        Assert.Equal(Trilean.Unknown, unknown.Durable);
        Assert.Contains("may or may not", unknown.Message, StringComparison.Ordinal);
        // Both answers came from Kafka's delivery thread, which also gave back what they reserved.
        Assert.Equal(0, inFlightBytes.Current);
        Assert.True(inFlightBytes.Max > 0, "the in-flight bytes were never reserved");
    }

    [Fact]
    public async Task WriteToLog_AllBrokersDown_UnknownAfterProduceTimeout()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 2, o => o.ProduceTimeout = TimeSpan.FromSeconds(1));
        using var client = new GrpcTestClient(host.Address);
        Assert.Equal(Trilean.True, (await WriteAsync(client, "before")).Durable);
        host.Kafka.SetBrokerDown(1);
        host.Kafka.SetBrokerDown(2);

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => WriteAsync(client, $"down-{i}")));

        Assert.All(responses, r => Assert.Equal(Trilean.Unknown, r.Durable));
        Assert.All(responses, r => Assert.Contains("may or may not", r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteToLog_InFlightWhenIngressStops_AnsweredUnknownNotReset()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(1));
        using var meter = new InFlightMeter(host);
        using var client = new GrpcTestClient(host.Address);
        await WriteAsync(client, "warm-up");
        host.Kafka.SetBrokerDown(1);

        var pending = WriteAsync(client, "at-shutdown");
        await Eventually.WaitUntilAsync(() => meter.Current > 0, TimeSpan.FromSeconds(10), "the write did not reach Kafka's queue");

        await host.App.StopAsync();
        var response = await pending;

        Assert.Equal(Trilean.Unknown, response.Durable);
    }

    [Fact]
    public async Task WriteToLogStream_IngressStopsWhileTheStreamIsOpen_AcksWhatItReadThenUnavailable()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1);
        using var client = new GrpcTestClient(host.Address);
        var topic = host.TopicOf(TestNamespaces.Orders);
        var frames = Enumerable.Range(1, 5)
            .SelectMany(i => GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Id = $"open-{i}" }))
            .ToArray();
        var call = client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, new DuplexContent(frames));
        await Eventually.WaitUntilAsync(() => host.CountRecords(topic) >= 5, TimeSpan.FromSeconds(20), "the stream's writes did not reach Kafka");

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var stopping = host.App.StopAsync();
        var response = await call;
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        await stopping;

        // This caller never half-closes: the call ends after the ending grace (2 s), not after
        // the host's shutdown timeout (17 s here) aborts it.
        Assert.True(elapsed < TimeSpan.FromSeconds(7), $"the stream ended {elapsed} after the stop began");
        Assert.Equal(StatusCode.Unavailable, response.Status);
        Assert.Contains("shutting down", response.Message, StringComparison.Ordinal);
        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).ToList();
        Assert.True(acks[^1].Ending, "the last message says the call is ending");
        Assert.Equal([1UL, 2, 3, 4, 5], acks[..^1].Select(a => a.ClientId).Order().ToArray());
        Assert.All(acks[..^1], a => Assert.Equal(Trilean.True, a.Response.Durable));
    }

    [Fact]
    public async Task WriteToLogStream_IngressStops_SaysSoThenEndsTheCallOnceTheCallerHalfCloses()
    {
        // A grace far longer than the test: the call can end only because the caller half-closed.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.StreamEndingGrace = TimeSpan.FromMinutes(1));
        var topic = host.TopicOf(TestNamespaces.Orders);
        using var http = new HttpClient { BaseAddress = host.Address };
        var body = new DuplexContent();
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var request = new HttpRequestMessage(HttpMethod.Post, WriteAheadLogService.WriteToLogStreamPath)
        {
            Content = body,
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        var call = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await body.SendAsync(GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = 1, Id = "before-stop" }));
        using var response = await call;
        var answers = await response.Content.ReadAsStreamAsync();
        var first = WriteToLogAck.Parser.ParseFrom(await NextMessageAsync(answers));
        Assert.Equal((1UL, Trilean.True), (first.ClientId, first.Response.Durable));

        var stopping = host.App.StopAsync();
        var next = await NextMessageAsync(answers);
        Assert.True(next is not null, "the call ended without saying it was ending");
        var ending = WriteToLogAck.Parser.ParseFrom(next);
        Assert.True(ending.Ending);
        Assert.Equal((0UL, null), (ending.ClientId, ending.Response));
        // Read now only to reach the end, not written. 2 MB is more than HTTP/2's stream and
        // connection windows hold: it goes out only if the call is open and the server reads on.
        var end = NextMessageAsync(answers);
        var filler = Google.Protobuf.ByteString.CopyFrom(new byte[64 * 1024]);
        for (var i = 0; i < 32; i++)
        {
            await body.SendAsync(GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)(2 + i), Id = $"after-ending-{i}", Payload = filler }))
                .WaitAsync(TimeSpan.FromSeconds(20));
        }

        Assert.False(end.IsCompleted, "the call ended before the caller half-closed");

        body.HalfClose();

        Assert.Null(await end.WaitAsync(TimeSpan.FromSeconds(20)));
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("14", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal("true", response.TrailingHeaders.GetValues(WriteToLogStreamMetadata.AllReadAcknowledged).Single());
        var ids = host.ReadAll(topic).Select(r => r.Entry.Id).ToList();
        Assert.Contains("before-stop", ids);
        Assert.DoesNotContain(ids, id => id.StartsWith("after-ending", StringComparison.Ordinal));
    }

    // The next gRPC message on a response body, or null at its end.
    private static async Task<byte[]?> NextMessageAsync(Stream body)
    {
        var prefix = new byte[5];
        var read = await body.ReadAtLeastAsync(prefix, 5, throwOnEndOfStream: false);
        if (read == 0)
        {
            return null;
        }

        Assert.Equal(5, read);

        var message = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(prefix.AsSpan(1))];
        await body.ReadExactlyAsync(message);
        return message;
    }

    [Fact]
    public async Task WriteToLog_DeadlineBeforeKafkaAnswers_DeadlineExceededWithUnknown()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(2));
        using var client = new GrpcTestClient(host.Address);
        await WriteAsync(client, "warm-up");
        host.Kafka.SetBrokerDown(1);

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Request("late"), r => r.Headers.Add("grpc-timeout", "300m"));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.Equal(Trilean.Unknown, Assert.Single(response.Details!.Details).Unpack<WriteToLogResponse>().Durable);
    }

    [Fact]
    public async Task WriteToLog_BrokerBouncingDuringLoad_EveryTrueRecordIsInTheTopic()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 3, o =>
        {
            o.ProduceTimeout = TimeSpan.FromSeconds(1);
            o.ProducerSettings["reconnect.backoff.max.ms"] = "200";
        });
        using var client = new GrpcTestClient(host.Address);
        var outcomes = new List<WriteToLogResponse>();
        async Task RoundAsync(string name)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var batch = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => WriteAsync(client, $"{name}-{i}")));
            output.WriteLine($"{name}: {string.Join(", ", batch.GroupBy(b => b.Durable).Select(g => $"{g.Key}={g.Count()}"))} in {System.Diagnostics.Stopwatch.GetElapsedTime(started)}");
            outcomes.AddRange(batch);
        }

        // The mock picks leaders itself; make sure the broker we stop leads something.
        host.Kafka.SetPartitionLeader(host.TopicOf(TestNamespaces.Orders), 0, 1);
        await RoundAsync("before");
        host.Kafka.SetBrokerDown(1);
        // The mock applies "down" on its own thread: write until the fault shows, within a bound.
        for (var round = 0; round < 10 && outcomes.All(o => o.Durable == Trilean.True); round++)
        {
            await RoundAsync($"down{round}");
        }

        host.Kafka.SetBrokerUp(1);
        await RoundAsync("after0");
        await RoundAsync("after1");

        var acknowledged = outcomes.Where(o => o.Durable == Trilean.True).Select(o => o.Id).ToHashSet();
        Assert.True(acknowledged.Count >= 50, $"only {acknowledged.Count} of {outcomes.Count} writes were TRUE");
        Assert.All(outcomes, o => Assert.NotEqual(Trilean.Unspecified, o.Durable));
        Assert.Contains(outcomes, o => o.Durable != Trilean.True);
        var inTopic = host.ReadAll(host.TopicOf(TestNamespaces.Orders)).Select(r => r.Entry.Id).ToHashSet();
        Assert.Empty(acknowledged.Except(inTopic));
    }

    // A cache key per write spreads the writes over every partition, so every broker leads some.
    private static WriteToLogRequest Request(string id, int payloadBytes = 0, ulong clientId = 0) => new()
    {
        Namespace = TestNamespaces.Orders,
        Id = id,
        ClientId = clientId,
        Payload = payloadBytes > 0 ? ByteString.CopyFrom(new byte[payloadBytes]) : ByteString.CopyFromUtf8($"payload {id}"),
        Target = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = $"key-{id}" } },
    };

    private static Task<WriteToLogResponse> StreamAsync(GrpcTestClient client, string id) => StreamAsync(client, Request(id));

    private static async Task<WriteToLogResponse> StreamAsync(GrpcTestClient client, WriteToLogRequest request)
    {
        request.ClientId = 42;
        var response = await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, GrpcTestClient.Frame(request).ToArray());
        Assert.True(response.Status == StatusCode.OK, $"{request.Id}: {response.Status} {response.Message}");
        var ack = WriteToLogAck.Parser.ParseFrom(Assert.Single(response.Messages));
        Assert.Equal(42UL, ack.ClientId);
        return ack.Response;
    }

    private static Task<WriteToLogResponse> WriteAsync(GrpcTestClient client, string id) => WriteAsync(client, Request(id));

    private static async Task<WriteToLogResponse> WriteAsync(GrpcTestClient client, WriteToLogRequest request)
    {
        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, request);
        Assert.True(response.Status == StatusCode.OK, $"{request.Id}: {response.Status} {response.Message}");
        return WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages));
    }
}
