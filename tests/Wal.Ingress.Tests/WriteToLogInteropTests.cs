using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>WriteToLog driven by python3-grpcio, calling the method by its full name with raw bytes.</summary>
public sealed class WriteToLogInteropTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    private IngressTestHost Host => fixture.Host;

    [Fact]
    public async Task WriteToLog_PythonClient_TrueAndRecordReadableFromTopic()
    {
        var request = new WriteToLogRequest { Namespace = TestNamespaces.Orders, Payload = ByteString.CopyFromUtf8("hello from python"), Id = "py-1" };

        var result = await PythonGrpcClient.CallAsync(Host.Address, WriteAheadLogService.WriteToLogPath, request);

        Assert.Equal(StatusCode.OK, result.Code);
        var response = WriteToLogResponse.Parser.ParseFrom(result.Response);
        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal("py-1", response.Id);
        Assert.Equal(Host.TopicOf(TestNamespaces.Orders), response.Position.Topic);
        var (partition, _, entry, _) = Assert.Single(Host.ReadAll(response.Position.Topic), r => r.Entry.Id == "py-1");
        Assert.Equal(response.Position.Partition, partition);
        Assert.Equal("hello from python", entry.Payload.ToStringUtf8());
        Assert.Equal("default-key", entry.Target.Memcached.Key);
        Assert.Equal("test-region", entry.OriginRegion);
        Assert.True(entry.AcceptedAtMs > 0);
        Assert.Equal(entry.AcceptedAtMs, entry.Lifecycle.OriginalWriteTime.ToDateTimeOffset().ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task WriteToLog_UnknownNamespace_NotFoundWithFalseInDetails()
    {
        var before = Host.CountRecords(Host.TopicOf(TestNamespaces.Orders));
        var request = new WriteToLogRequest { Namespace = "no-such-namespace", Payload = ByteString.CopyFromUtf8("x") };

        var result = await PythonGrpcClient.CallAsync(Host.Address, WriteAheadLogService.WriteToLogPath, request);

        Assert.Equal(StatusCode.NotFound, result.Code);
        Assert.Contains("no-such-namespace", result.Details, StringComparison.Ordinal);
        var response = Assert.Single(result.StatusDetails!.Details).Unpack<WriteToLogResponse>();
        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains("does not exist", response.Message, StringComparison.Ordinal);
        Assert.Equal(before, Host.CountRecords(Host.TopicOf(TestNamespaces.Orders)));
    }

    [Theory]
    [InlineData(600)]
    [InlineData(5_000)]
    public async Task WriteToLog_RefusalQuotingLongNonAsciiInput_PythonClientReadsTheRefusal(int urlCharacters)
    {
        // grpc-core refuses a header block over 8 KiB as RESOURCE_EXHAUSTED. The refusal quotes the URL three times
        // in the trailers, and the response echoes the id: both here are as long in UTF-8 as they can be.
        var before = Host.CountRecords(Host.TopicOf(TestNamespaces.Orders));
        var request = new WriteToLogRequest
        {
            Namespace = TestNamespaces.Orders, Id = new string('文', 256), Payload = ByteString.CopyFromUtf8("x"),
            Target = new Target { Upstream = new UpstreamTarget { Url = "ftp://例え.jp/" + new string('文', urlCharacters) } },
        };

        var result = await PythonGrpcClient.CallAsync(Host.Address, WriteAheadLogService.WriteToLogPath, request);

        Assert.True(result.Code == StatusCode.InvalidArgument, $"{result.Code}: {result.Details}");
        Assert.Contains("ftp://例え.jp/文文文", result.Details, StringComparison.Ordinal);
        var response = Assert.Single(result.StatusDetails!.Details).Unpack<WriteToLogResponse>();
        Assert.Equal(Trilean.False, response.Durable);
        Assert.Equal(request.Id, response.Id);
        Assert.Equal(before, Host.CountRecords(Host.TopicOf(TestNamespaces.Orders)));
    }

    // grpc-message percent-encodes '%' itself as well as non-ASCII; a client decoding it must get the text back as it was,
    // a '%' followed by hex digits included.
    [Fact]
    public async Task WriteToLog_RefusalQuotingPercentAndNonAscii_PythonClientReadsTheTextAsItWas()
    {
        var request = new WriteToLogRequest { Namespace = "100%41 é%", Id = "a", Payload = ByteString.CopyFromUtf8("x") };

        var result = await PythonGrpcClient.CallAsync(Host.Address, WriteAheadLogService.WriteToLogPath, request);

        Assert.Equal(StatusCode.InvalidArgument, result.Code);
        Assert.Contains("'100%41 é%'", result.Details, StringComparison.Ordinal);
        Assert.Equal(result.Details, result.StatusDetails!.Message);
    }

    [Fact]
    public async Task WriteToLog_MalformedProtobuf_InvalidArgumentNothingProduced()
    {
        var before = Host.CountRecords(Host.TopicOf(TestNamespaces.Orders));

        // Field 1 (namespace) as a string claiming 200 bytes, followed by 3.
        var result = await PythonGrpcClient.CallAsync(Host.Address, WriteAheadLogService.WriteToLogPath, [0x0A, 0xC8, 0x01, 0x6F, 0x72, 0x64]);

        Assert.Equal(StatusCode.InvalidArgument, result.Code);
        Assert.Null(result.Response);
        Assert.Equal(before, Host.CountRecords(Host.TopicOf(TestNamespaces.Orders)));
    }

    [Fact]
    public async Task WriteToLog_PayloadAboveNamespaceLimit_FalseNamingTheLimitNothingProduced()
    {
        var before = Host.CountRecords(Host.TopicOf(TestNamespaces.Orders));
        var request = new WriteToLogRequest
        {
            Namespace = TestNamespaces.Orders,
            Payload = ByteString.CopyFrom(new byte[TestNamespaces.OrdersMaxPayload + 1]),
        };

        var result = await PythonGrpcClient.CallAsync(Host.Address, WriteAheadLogService.WriteToLogPath, request);

        Assert.Equal(StatusCode.OK, result.Code);
        var response = WriteToLogResponse.Parser.ParseFrom(result.Response);
        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains($"max_payload_bytes of {TestNamespaces.OrdersMaxPayload}", response.Message, StringComparison.Ordinal);
        Assert.Equal(before, Host.CountRecords(Host.TopicOf(TestNamespaces.Orders)));
    }

    [Fact]
    public async Task WriteToLog_OverTheNamespaceRate_PythonRetryWaitsThePushbackNotItsOwnBackoffAndIsWritten()
    {
        // The burst of one is spent, so the python call's first attempt is refused with the time until the next token
        // (at most 5 s); its own backoff is a minute, past the call's deadline: only the pushback brings it back in time.
        using var client = new GrpcTestClient(Host.Address);
        var spent = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Paced, Id = "paced-burst" });
        Assert.True(spent.Status == StatusCode.OK, $"{spent.Status} {spent.Message}");
        using var shed = new ShedCounter(Host, TestNamespaces.Paced);
        var request = new WriteToLogRequest { Namespace = TestNamespaces.Paced, Id = "paced-retried", Payload = ByteString.CopyFromUtf8("x") };

        var result = await PythonGrpcClient.CallAsync(
            Host.Address, WriteAheadLogService.WriteToLogPath, request.ToByteArray(), retry: (Attempts: 2, Backoff: TimeSpan.FromMinutes(1)), timeoutSeconds: 20);

        Assert.True(result.Code == StatusCode.OK, $"{result.Code} {result.Details}");
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(result.Response).Durable);
        Assert.Equal(1, shed.Count);
        Assert.Single(Host.ReadAll(Host.TopicOf(TestNamespaces.Paced)), r => r.Entry.Id == "paced-retried");
    }

    [Fact]
    public async Task WriteToLog_RecordThatCanNeverFit_PythonRetryPolicyTriesOnce()
    {
        // RESOURCE_EXHAUSTED is a status clients retry; this one's grpc-retry-pushback-ms says not to.
        using var shed = new ShedCounter(Host, TestNamespaces.Tight);
        var request = new WriteToLogRequest { Namespace = TestNamespaces.Tight, Id = "never-fits-python", Payload = ByteString.CopyFrom(new byte[3000]) };

        var result = await PythonGrpcClient.CallAsync(
            Host.Address, WriteAheadLogService.WriteToLogPath, request.ToByteArray(), retry: (Attempts: 5, Backoff: TimeSpan.FromMilliseconds(10)));

        Assert.Equal(StatusCode.ResourceExhausted, result.Code);
        Assert.Contains("never", result.Details, StringComparison.Ordinal);
        Assert.Equal(1, shed.Count);
    }

    [Fact]
    public async Task WriteToLogStream_PythonClient_OneTrueAckPerClientId()
    {
        var requests = Enumerable.Range(1, 30).Select(i => new WriteToLogRequest
        {
            Namespace = TestNamespaces.Orders,
            ClientId = (ulong)(1000 + i),
            Payload = ByteString.CopyFromUtf8($"stream {i}"),
        });

        var (code, responses) = await PythonGrpcClient.StreamAsync(Host.Address, WriteAheadLogService.WriteToLogStreamPath, requests);

        Assert.Equal(StatusCode.OK, code);
        var acks = responses.Select(r => WriteToLogAck.Parser.ParseFrom(r)).ToList();
        Assert.Equal(Enumerable.Range(1001, 30).Select(i => (ulong)i), acks.Select(a => a.ClientId).Order());
        Assert.All(acks, a => Assert.Equal(Trilean.True, a.Response.Durable));
    }

    [Fact]
    public async Task UnknownMethod_PythonClient_Unimplemented()
    {
        var result = await PythonGrpcClient.CallAsync(Host.Address, "/wal.v1.WriteAheadLog/Nope", []);

        Assert.Equal(StatusCode.Unimplemented, result.Code);
    }
}
