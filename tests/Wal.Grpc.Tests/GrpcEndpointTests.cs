using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

public sealed class GrpcEndpointTests(EchoServer server) : IClassFixture<EchoServer>
{
    [Fact]
    public async Task Unary_ValidRequest_EchoesWithOkInTrailers()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Text = "hello", Data = ByteString.CopyFrom(1, 2, 3) });

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("application/grpc", response.ContentType);
        Assert.Equal(StatusCode.OK, response.Status);
        Assert.False(response.TrailersOnly);
        var echo = Echo.Parser.ParseFrom(Assert.Single(response.Messages));
        Assert.Equal("hello", echo.Text);
        Assert.Equal(new byte[] { 1, 2, 3 }, echo.Data.ToByteArray());
    }

    [Fact]
    public async Task Unary_GrpcProtoContentType_Accepted()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(EchoServer.Unary, GrpcTestClient.Frame(new Echo { Text = "x" }), contentType: "application/grpc+proto");

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Single(response.Messages);
    }

    [Theory]
    [InlineData("application/grpc;charset=utf-8")]
    [InlineData("application/grpc+proto; charset=utf-8")]
    [InlineData("Application/GRPC")]
    [InlineData("application/GRPC+Proto")]
    public async Task Unary_GrpcContentTypeWithParametersOrOtherCase_Accepted(string contentType)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(EchoServer.Unary, GrpcTestClient.Frame(new Echo { Text = "x" }), contentType: contentType);

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("application/grpc", response.ContentType);
        Assert.Equal("identity", Assert.Single(response.Headers.GetValues("grpc-accept-encoding")));
    }

    [Fact]
    public async Task Unary_BinaryCustomMetadata_Accepted()
    {
        using var client = new GrpcTestClient(server.Address);

        // Unpadded and padded base64, as the spec lets senders choose.
        var response = await client.CallAsync(EchoServer.Unary, new Echo { Text = "x" }, r =>
        {
            r.Headers.TryAddWithoutValidation("x-trace-bin", "AAEC");
            r.Headers.TryAddWithoutValidation("x-other-bin", "AAECAw==");
        });

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("x", Echo.Parser.ParseFrom(Assert.Single(response.Messages)).Text);
    }

    // Only POST carries gRPC, and the spec asks nothing of a server for other methods: routing's plain 405 suffices,
    // since no gRPC client sends one.
    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    public async Task NonPostMethod_Http405(string method)
    {
        using var client = new GrpcTestClient(server.Address);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(server.Address, EchoServer.Unary))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("content-type", "application/grpc");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        var after = await client.CallAsync(EchoServer.Unary, new Echo { Text = "still serving" });
        Assert.Equal(StatusCode.OK, after.Status);
    }

    [Fact]
    public async Task Unary_HandlerThrowsRpcException_TrailersOnlyWithEncodedMessageAndDetails()
    {
        using var client = new GrpcTestClient(server.Address);
        const string text = "no such thing: 100% ünïcode\nline";

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Action = "rpc", Text = text });

        Assert.True(response.TrailersOnly);
        Assert.Empty(response.Messages);
        Assert.Equal(StatusCode.NotFound, response.Status);
        Assert.Equal(text, response.Message);
        Assert.NotNull(response.Details);
        Assert.Equal((int)StatusCode.NotFound, response.Details.Code);
        Assert.Equal("detail", Assert.Single(response.Details.Details).Unpack<Echo>().Text);
    }

    [Fact]
    public async Task Unary_HandlerThrows_InternalWithoutLeakingAndLogged()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Action = "throw" });

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.DoesNotContain("secret", response.Message, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Error && e.Exception?.Message == "secret internal state");
    }

    [Fact]
    public async Task Unary_MalformedProtobuf_InvalidArgument()
    {
        using var client = new GrpcTestClient(server.Address);

        // Field 1 as a length-delimited string claiming 100 bytes, then the stream ends.
        var response = await client.SendAsync(EchoServer.Unary, GrpcTestClient.Frame([0x0A, 100, 1, 2]));

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task Unary_MessageAboveLimit_ResourceExhausted()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Data = ByteString.CopyFrom(new byte[EchoServer.MaxMessageSize + 1]) });

        Assert.Equal(StatusCode.ResourceExhausted, response.Status);
        Assert.Contains(EchoServer.MaxMessageSize.ToString(), response.Message, StringComparison.Ordinal);
        // No retry will carry it: clients that retry RESOURCE_EXHAUSTED are told not to.
        Assert.Equal("-1", response.Trailer("grpc-retry-pushback-ms"));
    }

    [Fact]
    public async Task Unary_CompressedFlagWithoutEncoding_Internal()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(EchoServer.Unary, GrpcTestClient.Frame(new Echo { Text = "x" }.ToByteArray(), flags: 1));

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Contains("compressed", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_CompressedFlagUnderIdentityEncoding_Internal()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(
            EchoServer.Unary, GrpcTestClient.Frame(new Echo { Text = "x" }.ToByteArray(), flags: 1), r => r.Headers.Add("grpc-encoding", "identity"));

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task Unary_GzipEncoding_UnimplementedAdvertisingIdentity()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Text = "x" }, r => r.Headers.Add("grpc-encoding", "gzip"));

        Assert.Equal(StatusCode.Unimplemented, response.Status);
        Assert.Equal("identity", Assert.Single(response.Headers.GetValues("grpc-accept-encoding")));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/grpc-web")]
    [InlineData("application/grpcx")]
    [InlineData("")]
    public async Task Unary_WrongContentType_Http415WithGrpcStatus(string contentType)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(EchoServer.Unary, GrpcTestClient.Frame(new Echo()), contentType: contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
        Assert.Equal(StatusCode.Internal, response.Status);
        var after = await client.CallAsync(EchoServer.Unary, new Echo { Text = "still serving" });
        Assert.Equal(StatusCode.OK, after.Status);
    }

    [Theory]
    [InlineData("application/grpc+json", "json")]
    [InlineData("Application/GRPC+JSON; charset=utf-8", "JSON")]
    [InlineData("application/grpc+cbor", "cbor")]
    public async Task Unary_GrpcContentTypeOfAnotherMessageFormat_UnimplementedNamingTheFormat(string contentType, string subtype)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(EchoServer.Unary, GrpcTestClient.Frame(new Echo { Text = "x" }), contentType: contentType);

        // A gRPC call the server cannot decode, not a request that is not gRPC: the answer is gRPC's, so the
        // caller's library reports the message rather than an HTTP error.
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Empty(response.Messages);
        Assert.Equal(StatusCode.Unimplemented, response.Status);
        Assert.Contains($"'{subtype}'", response.Message, StringComparison.Ordinal);
        Assert.Contains("only protobuf is served", response.Message, StringComparison.Ordinal);
        var after = await client.CallAsync(EchoServer.Unary, new Echo { Text = "still serving" });
        Assert.Equal(StatusCode.OK, after.Status);
    }

    [Fact]
    public async Task Unary_Http11_Refused()
    {
        using var client = new GrpcTestClient(server.Http1Address, HttpVersion.Version11);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Text = "x" });

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.HttpStatus);
        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Contains("HTTP/2", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_NoMessage_Internal()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.SendAsync(EchoServer.Unary, []);

        Assert.Equal(StatusCode.Internal, response.Status);
    }

    [Fact]
    public async Task Unary_TruncatedFrame_Internal()
    {
        using var client = new GrpcTestClient(server.Address);
        var frame = GrpcTestClient.Frame(new Echo { Text = "truncated" });

        var response = await client.SendAsync(EchoServer.Unary, frame[..^3]);

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Contains("Incomplete", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_TwoMessages_Internal()
    {
        using var client = new GrpcTestClient(server.Address);
        var frame = GrpcTestClient.Frame(new Echo { Text = "one" });

        var response = await client.SendAsync(EchoServer.Unary, [.. frame, .. frame]);

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task UnmappedMethod_Unimplemented()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync("/test.v1.EchoService/Nope", new Echo());

        Assert.Equal(StatusCode.Unimplemented, response.Status);
    }

    // A gRPC path names its method exactly as sent (PROTOCOL-HTTP2.md); ASP.NET Core's routing ignores case
    // and a trailing slash, and decodes escapes: a call to a method that does not exist must not run one that does.
    [Theory]
    [InlineData("/TEST.V1.ECHOSERVICE/UNARY")]
    [InlineData("/test.v1.EchoService/unary")]
    [InlineData("/test.v1.EchoService/Unary/")]
    [InlineData("/test.v1.EchoService/Un%61ry")]
    public async Task Unary_PathDiffersFromTheMethodsOnlyInCaseATrailingSlashOrAnEscape_UnimplementedHandlerNotRun(string path)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(path, new Echo { Text = "x" });

        Assert.Equal(StatusCode.Unimplemented, response.Status);
        Assert.Empty(response.Messages);
        Assert.True(response.TrailersOnly);
        Assert.Contains(path, response.Message, StringComparison.Ordinal);
    }

    // gRPC's retry design: a server tells clients that retry a status how long to wait (whole milliseconds, so rounded
    // up, never early), or with a negative value not to retry at all; in trailers after messages, or trailers-only.
    [Theory]
    [InlineData(new[] { "a", "pushback:1500.2" }, "1501")]
    [InlineData(new[] { "a", "pushback:-1" }, "-1")]
    [InlineData(new[] { "pushback:0" }, "0")]
    public async Task Duplex_HandlerEndsWithARetryPushback_SentAsGrpcRetryPushbackMs(string[] texts, string expected)
    {
        using var client = new GrpcTestClient(server.Address);
        var body = texts.SelectMany(t => GrpcTestClient.Frame(new Echo { Text = t })).ToArray();

        var response = await client.SendAsync(EchoServer.Duplex, body);

        Assert.Equal(StatusCode.ResourceExhausted, response.Status);
        Assert.Equal(texts.Length == 1, response.TrailersOnly);
        Assert.Equal(expected, response.Trailer("grpc-retry-pushback-ms"));
    }

    [Fact]
    public async Task Unary_RpcExceptionWithoutPushback_NoRetryPushbackTrailer()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Action = "rpc", Text = "x" });

        Assert.Equal(StatusCode.NotFound, response.Status);
        Assert.Null(response.Trailer("grpc-retry-pushback-ms"));
    }

    [Fact]
    public async Task Duplex_ManyRequests_OneResponseEachInOrder()
    {
        using var client = new GrpcTestClient(server.Address);
        var body = Enumerable.Range(0, 50).SelectMany(i => GrpcTestClient.Frame(new Echo { Text = $"m{i}" })).ToArray();

        var response = await client.SendAsync(EchoServer.Duplex, body);

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), response.Messages.Select(m => Echo.Parser.ParseFrom(m).Text));
    }

    [Fact]
    public async Task Duplex_BatchesBetweenSingleWrites_EveryMessageOnceInOrder()
    {
        using var client = new GrpcTestClient(server.Address);
        var body = new[] { "a", "batch:3", "b", "batch:200" }.SelectMany(t => GrpcTestClient.Frame(new Echo { Text = t })).ToArray();

        var response = await client.SendAsync(EchoServer.Duplex, body);

        Assert.Equal(StatusCode.OK, response.Status);
        string[] expected = ["a", .. Enumerable.Range(1, 3).Select(i => $"batch:3#{i}"), "b", .. Enumerable.Range(1, 200).Select(i => $"batch:200#{i}")];
        Assert.Equal(expected, response.Messages.Select(m => Echo.Parser.ParseFrom(m).Text));
    }
}
