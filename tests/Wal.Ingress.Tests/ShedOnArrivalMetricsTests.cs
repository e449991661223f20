using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>
/// A message refused RESOURCE_EXHAUSTED on arrival, before any handler parsed it, is a write shed to protect the
/// instance: it was counted nowhere, and a flood of them showed no shedding at all. It counts under `(unknown)`, since
/// no namespace was read.
/// </summary>
public sealed class ShedOnArrivalMetricsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task MessageOverTheLargestSize_CountedAsShedForItsSize()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.MaxReceiveMessageSize = 64 * 1024);
        using var client = new GrpcTestClient(host.Address);

        var refused = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("too-large", 100 * 1024));

        Assert.Equal(StatusCode.ResourceExhausted, refused.Status);
        Assert.Contains("wal_ingress_shed_total{namespace=\"(unknown)\",reason=\"message_size\"} 1\n", await MetricsAsync(host), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageThatDoesNotFitTheReceiveBound_CountedAsShedForIt()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o =>
        {
            o.MaxReceiveMessageSize = 64 * 1024;
            o.MaxReceivingBytes = 64 * 1024;
        });
        using var receiving = new InFlightMeter(host, "wal_ingress_receiving_bytes");
        using var client = new GrpcTestClient(host.Address, handler: new SocketsHttpHandler { EnableMultipleHttp2Connections = true });
        var holderFrame = GrpcTestClient.Frame(Write("holder", 60 * 1024));
        var holder = new DuplexContent(holderFrame[..^1]);
        var holderCall = client.SendAsync(WriteAheadLogService.WriteToLogPath, holder);
        await Eventually.WaitUntilAsync(() => Task.FromResult(receiving.Current > 0), Deadline, "the first caller to hold its bytes");

        var refused = await client.SendAsync(WriteAheadLogService.WriteToLogPath, new DuplexContent(GrpcTestClient.Frame(Write("refused", 60 * 1024))[..^1])).WaitAsync(Deadline);
        var metrics = await MetricsAsync(host);
        await holder.SendAsync(holderFrame[^1..]);
        holder.HalfClose();
        var held = await holderCall.WaitAsync(Deadline);

        Assert.Equal(StatusCode.ResourceExhausted, refused.Status);
        Assert.Contains("wal_ingress_shed_total{namespace=\"(unknown)\",reason=\"receiving_bytes\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Equal(StatusCode.OK, held.Status);
    }

    private static WriteToLogRequest Write(string id, int payloadBytes) =>
        new() { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFrom(new byte[payloadBytes]) };

    private static async Task<string> MetricsAsync(IngressTestHost host)
    {
        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }
}
