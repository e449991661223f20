using System.Diagnostics;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>Bounds on what the ingress holds: per-stream in-flight requests and per-namespace in-flight bytes.</summary>
public sealed class BackPressureTests
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
        await WaitUntilAsync(() => meter.Current == bound);
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
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.ProduceTimeout = TimeSpan.FromSeconds(2);
            o.ProducerSettings["reconnect.backoff.max.ms"] = "100";
        });
        using var client = new GrpcTestClient(host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("warm-up"));
        host.Kafka.SetBrokerDown(1);

        // Each record is a little over 500 bytes: three fit under the 2000-byte bound.
        var calls = Enumerable.Range(0, 10).Select(i => (Started: Stopwatch.GetTimestamp(), Call: client.CallAsync(WriteAheadLogService.WriteToLogPath, Write($"w{i}")))).ToList();
        var responses = await Task.WhenAll(calls.Select(async c => (Response: await c.Call, Elapsed: Stopwatch.GetElapsedTime(c.Started))));

        var shed = responses.Where(r => r.Response.Status == StatusCode.ResourceExhausted).ToList();
        Assert.Equal(7, shed.Count);
        Assert.All(shed, r => Assert.True(r.Elapsed < TimeSpan.FromSeconds(1.5), $"shed after {r.Elapsed}, not at once"));
        Assert.All(shed, r => Assert.Equal(Trilean.False, Assert.Single(r.Response.Details!.Details).Unpack<WriteToLogResponse>().Durable));
        Assert.Equal(3, responses.Count(r => r.Response.Status == StatusCode.OK));
        host.Kafka.SetBrokerUp(1);
        var after = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("after"));
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(after.Messages)).Durable);
        var ids = host.ReadAll(host.TopicOf(TestNamespaces.Tight)).Select(r => r.Entry.Id).ToHashSet();
        Assert.DoesNotContain(shed, r => ids.Contains(Assert.Single(r.Response.Details!.Details).Unpack<WriteToLogResponse>().Id));
    }

    private static WriteToLogRequest Write(string id) =>
        new() { Namespace = TestNamespaces.Tight, Id = id, Payload = ByteString.CopyFrom(new byte[500]) };

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = Stopwatch.GetTimestamp() + (long)(Deadline.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < until, "condition not reached within the deadline");
            await Task.Delay(20);
        }
    }
}
