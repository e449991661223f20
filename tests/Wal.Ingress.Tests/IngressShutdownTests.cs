using System.Diagnostics;
using System.Net.Sockets;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>
/// What a stopping ingress owes its callers, and how long it may take: every call in flight gets Kafka's answer,
/// nothing new gets in, and one caller that stopped reading holds the stop no longer than the host's shutdown
/// timeout (ProduceTimeout + StreamEndingGrace + 5 s), not for its StreamAckTimeout.
/// </summary>
public sealed class IngressShutdownTests
{
    private static readonly string LongIdTail = new('x', 200);

    [Fact]
    public async Task WriteToLog_InFlightWhenIngressStops_KafkaAnswersTrueWhileNewConnectionsAreRefused()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(5));
        using var inFlight = new InFlightMeter(host);
        using var client = new GrpcTestClient(host.Address);
        var (grpc, admin) = (host.Address, host.App.GetAdminAddress()!);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, Request("warm-up"));
        host.Kafka.SetBrokerRoundTrip(1, TimeSpan.FromSeconds(2));
        var writes = Enumerable.Range(0, 10).Select(i => client.CallAsync(WriteAheadLogService.WriteToLogPath, Request($"in-flight-{i}"))).ToList();
        await Eventually.WaitUntilAsync(() => inFlight.Current == writes.Count, TimeSpan.FromSeconds(10), "every write to await Kafka");

        var started = Stopwatch.GetTimestamp();
        var stopping = host.App.StopAsync();
        // Nothing new gets in while the stop waits for Kafka: a gRPC client reads a refused
        // connection as UNAVAILABLE, WalClient as FALSE (no request left), and a probe as not ready.
        await Eventually.WaitUntilAsync(async () => !await AcceptsAsync(grpc) && !await AcceptsAsync(admin), TimeSpan.FromSeconds(5), "the gRPC and admin ports to refuse connections");
        Assert.False(writes.Any(w => w.IsCompleted), "the writes were answered before the ports were checked, so the check proved nothing");
        var responses = await Task.WhenAll(writes);
        await stopping;
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.All(responses, r => Assert.Equal((StatusCode.OK, Trilean.True), (r.Status, WriteToLogResponse.Parser.ParseFrom(Assert.Single(r.Messages)).Durable)));
        var written = host.ReadAll(host.TopicOf(TestNamespaces.Orders)).Select(r => r.Entry.Id).ToHashSet();
        Assert.All(Enumerable.Range(0, 10), i => Assert.Contains($"in-flight-{i}", written));
        // Kafka's answers, not the host's shutdown timeout (12 s here), ended the stop.
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"the stop took {elapsed}");
    }

    [Fact]
    public async Task WriteToLogStream_OneCallerStoppedReadingWhenIngressStops_OthersKeepTheirAcksAndTheStopEndsAtTheShutdownTimeout()
    {
        // Shutdown timeout 1 + 2 + 5 = 8 s, far below the 30 s StreamAckTimeout.
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.MaxStreamInFlight = 10;
            o.ProduceTimeout = TimeSpan.FromSeconds(1);
        });
        var topic = host.TopicOf(TestNamespaces.Orders);
        await using var stalled = await NonReadingHttp2Client.ConnectAsync(host.Address, initialWindow: 1);
        var stream = await stalled.OpenAsync(host.Address, WriteAheadLogService.WriteToLogStreamPath);
        for (var i = 1; i <= 100; i++)
        {
            await stalled.SendAsync(stream, GrpcTestClient.Frame(Request($"stalled-{i}-{LongIdTail}", (ulong)i)));
        }

        // With a 1-byte window and 10 slots, the stalled call takes about 20 writes and then no more (StalledAckStreamTests).
        await Eventually.WaitUntilAsync(() => host.CountRecords(topic) >= 20, TimeSpan.FromSeconds(20), "the stalled call's writes to reach Kafka");
        using var client = new GrpcTestClient(host.Address);
        var frames = Enumerable.Range(1, 5).SelectMany(i => GrpcTestClient.Frame(Request($"reading-{i}", (ulong)i))).ToArray();
        var reading = client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, new DuplexContent(frames));
        // The reading call's own records, not a count of the topic: in one CI run the count reached 25 before the reading
        // call had connected (the stop, 1 s into the test, refused its connection), so the stalled call had taken more
        // than 20 writes there.
        await Eventually.WaitUntilAsync(
            () => host.ReadAll(topic).Count(r => r.Entry.Id.StartsWith("reading-", StringComparison.Ordinal)) == 5,
            TimeSpan.FromSeconds(20),
            "the reading call's writes to reach Kafka");

        var started = Stopwatch.GetTimestamp();
        var stopping = host.App.StopAsync();
        var response = await reading;
        var readingEnded = Stopwatch.GetElapsedTime(started);
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
        var stopped = Stopwatch.GetElapsedTime(started);

        var acks = response.Messages.Select(m => WriteToLogAck.Parser.ParseFrom(m)).ToList();
        Assert.Equal(StatusCode.Unavailable, response.Status);
        Assert.True(acks[^1].Ending, "the reading caller was told the call is ending");
        Assert.Equal([1UL, 2, 3, 4, 5], acks[..^1].Select(a => a.ClientId).Order().ToArray());
        Assert.All(acks[..^1], a => Assert.Equal(Trilean.True, a.Response.Durable));
        // The reading call ended after its ending grace, not when the host's timeout aborted the connections.
        Assert.True(readingEnded < TimeSpan.FromSeconds(6), $"the reading call ended {readingEnded} after the stop began");
        // The stalled call held the stop until the host's timeout aborted it, not for its StreamAckTimeout.
        Assert.InRange(stopped, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(12));
    }

    private static WriteToLogRequest Request(string id, ulong clientId = 0) =>
        new() { Namespace = TestNamespaces.Orders, Id = id, ClientId = clientId, Payload = ByteString.CopyFromUtf8("x") };

    private static async Task<bool> AcceptsAsync(Uri address)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(address.Host, address.Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
