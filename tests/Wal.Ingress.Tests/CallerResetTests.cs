using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>
/// A caller that gives up sends RST_STREAM while its writes wait on Kafka. The call must end at once (its handler
/// returns, Kestrel lets the stream go), while the writes keep their in-flight room until Kafka answers them, since
/// the records may still be written; then nothing is left.
/// </summary>
public sealed class CallerResetTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CallerResetsWhileWritesAwaitKafka_CallEndsAndTheRoomComesBackWithKafkasAnswer(bool stream)
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(5));
        using var inFlightBytes = new InFlightMeter(host, "wal_ingress_in_flight_bytes");
        using var requests = new ActiveRequestsMeter(host);
        await WarmUpAsync(host);
        host.Kafka.SetBrokerDown(1);
        await using var client = await NonReadingHttp2Client.ConnectAsync(host.Address, initialWindow: 65535);
        var call = await client.OpenAsync(host.Address, stream ? WriteAheadLogService.WriteToLogStreamPath : WriteAheadLogService.WriteToLogPath);
        var writes = stream ? 5 : 1;
        for (var i = 1; i <= writes; i++)
        {
            var request = new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Id = $"w{i}", Payload = ByteString.CopyFromUtf8("x") };
            await client.SendAsync(call, GrpcTestClient.Frame(request), endStream: !stream);
        }

        await Eventually.WaitUntilAsync(() => requests.Active == 1 && inFlightBytes.Current > 0, TimeSpan.FromSeconds(10), "the writes to wait on Kafka");
        await client.ResetAsync(call);

        await Eventually.WaitUntilAsync(() => requests.Active == 0, TimeSpan.FromSeconds(3), "the call to end with the caller's reset, before Kafka answered");
        Assert.True(inFlightBytes.Current > 0, "the records are still in Kafka's hands, so their room is still taken");
        await Eventually.WaitUntilAsync(() => inFlightBytes.Current == 0, TimeSpan.FromSeconds(20), "Kafka's answer (the produce timeout) to give the room back");
        Assert.False(client.ConnectionClosed, "a reset ends one stream, not its connection");
    }

    // The status of a call refused before any response message rides in the response's one HEADERS frame, with END_STREAM
    // (trailers-only), next to the content type.
    [Fact]
    public async Task RefusedBeforeAnyMessage_StatusInTheOnlyHeadersFrameWithEndStream()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1);
        await using var client = await NonReadingHttp2Client.ConnectAsync(host.Address, initialWindow: 65535);
        var call = await client.OpenAsync(host.Address, WriteAheadLogService.WriteToLogPath);
        var request = new WriteToLogRequest { Namespace = "no-such-namespace", Id = "a", Payload = ByteString.CopyFromUtf8("x") };

        await client.SendAsync(call, GrpcTestClient.Frame(request), endStream: true);
        var end = await client.EndOf(call).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(end.ResetCode);
        Assert.Equal(0, client.DataBytes(call));
        Assert.Contains("application/grpc", end.TrailerText, StringComparison.Ordinal);
        Assert.Contains("grpc-status", end.TrailerText, StringComparison.Ordinal);
        Assert.Contains("grpc-status-details-bin", end.TrailerText, StringComparison.Ordinal);
    }

    private static async Task WarmUpAsync(IngressTestHost host)
    {
        using var client = new GrpcTestClient(host.Address);
        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Id = "warm-up", Payload = ByteString.CopyFromUtf8("x") });
        Assert.Equal(StatusCode.OK, response.Status);
    }
}
