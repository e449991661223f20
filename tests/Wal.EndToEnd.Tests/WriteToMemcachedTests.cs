using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Grpc;
using Wal.Ingress.Tests;
using Wal.Schemas.V1;

namespace Wal.EndToEnd.Tests;

/// <summary>
/// The first end-to-end path: a foreign gRPC client (python3-grpcio) writes to the ingress, the
/// record goes through Kafka, and the topology applies it to the real memcached server.
/// </summary>
public sealed class WriteToMemcachedTests(LocalStackFixture wal) : IClassFixture<LocalStackFixture>
{
    private const string WriteToLog = "/wal.v1.WriteAheadLog/WriteToLog";
    private static readonly TimeSpan DeliveryDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WriteToLog_FromPythonGrpcClient_IsDurableAndReachesMemcached()
    {
        var key = $"greeting-{Guid.NewGuid():N}";

        var result = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, Request("demo", key, "hello, wal"));

        Assert.Equal(StatusCode.OK, result.Code);
        var response = WriteToLogResponse.Parser.ParseFrom(result.Response);
        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal("wal.demo", response.Position.Topic);
        var (value, _) = await wal.WaitForDeliveryAsync(key, DeliveryDeadline);
        Assert.Equal("hello, wal", System.Text.Encoding.UTF8.GetString(value));
    }

    [Fact]
    public async Task WriteToLog_WithDelay_ArrivesNotBeforeTheDelay()
    {
        var key = $"delayed-{Guid.NewGuid():N}";
        var request = Request("demo", key, "later");
        request.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)) };
        var sentAt = DateTimeOffset.UtcNow;

        var result = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, request);

        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(result.Response).Durable);
        var (value, seenAt) = await wal.WaitForDeliveryAsync(key, DeliveryDeadline);
        Assert.Equal("later", System.Text.Encoding.UTF8.GetString(value));
        Assert.True(seenAt - sentAt >= TimeSpan.FromSeconds(2), $"delivered {(seenAt - sentAt).TotalMilliseconds:0} ms after sending, before its 2 s delay");
    }

    [Fact]
    public async Task WriteToLog_UnknownNamespace_IsNotFoundAndNothingArrives()
    {
        var key = $"ghost-{Guid.NewGuid():N}";
        var before = wal.RecordCount("wal.demo");

        var result = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, Request("no-such-namespace", key, "x"));

        Assert.Equal(StatusCode.NotFound, result.Code);
        Assert.Contains("no-such-namespace", result.Details, StringComparison.Ordinal);
        var details = Assert.Single(result.StatusDetails!.Details);
        Assert.Equal(Trilean.False, details.Unpack<WriteToLogResponse>().Durable);
        Assert.Equal(before, wal.RecordCount("wal.demo"));
        Assert.Null(await wal.ReadDeliveredAsync(key));
    }

    [Fact]
    public async Task WriteToLog_PayloadAboveTheNamespaceLimit_IsNotDurableAndNothingArrives()
    {
        var key = $"big-{Guid.NewGuid():N}";
        var before = wal.RecordCount("wal.demo");
        var request = Request("demo", key, new string('x', 65_537));

        var result = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, request);

        Assert.Equal(StatusCode.OK, result.Code);
        var response = WriteToLogResponse.Parser.ParseFrom(result.Response);
        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains("65536", response.Message, StringComparison.Ordinal);
        Assert.Equal(before, wal.RecordCount("wal.demo"));
    }

    [Fact]
    public async Task WriteToLog_MalformedProtobuf_IsInvalidArgumentAndTheServerKeepsServing()
    {
        var before = wal.RecordCount("wal.demo");

        var malformed = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, [0x0A, 0xFF, 0xFF]);
        var key = $"after-{Guid.NewGuid():N}";
        var next = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, Request("demo", key, "still here"));

        Assert.Equal(StatusCode.InvalidArgument, malformed.Code);
        Assert.Equal(StatusCode.OK, next.Code);
        Assert.Equal(before + 1, wal.RecordCount("wal.demo"));
        await wal.WaitForDeliveryAsync(key, DeliveryDeadline);
    }

    private static WriteToLogRequest Request(string ns, string key, string value) => new()
    {
        Namespace = ns,
        Payload = ByteString.CopyFromUtf8(value),
        Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = key } },
    };
}
