using System.Text;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Upstream;

namespace Wal.Sinks.Tests;

public sealed class UpstreamSinkTests : SinkContractTests, IClassFixture<UpstreamServerFixture>, IAsyncLifetime
{
    private readonly UpstreamServerFixture _server;
    private readonly UpstreamSink _sink;

    public UpstreamSinkTests(UpstreamServerFixture server)
    {
        _server = server;
        _sink = new UpstreamSink(new UpstreamSinkOptions { DefaultTimeout = TimeSpan.FromSeconds(5), UseGrpcForServiceMethodPaths = true });
    }

    protected override ISink Sink => _sink;

    protected override Target NewTarget() => Http($"/items/{Guid.NewGuid():N}");

    protected override Task<byte[]?> ReadCurrentAsync(Target target)
    {
        var key = target.Upstream.Url.Contains("/items/")
            ? target.Upstream.Url[(target.Upstream.Url.LastIndexOf('/') + 1)..]
            : new Uri(target.Upstream.Url).Query.Split('=')[1];
        return Task.FromResult(_server.Items.GetValueOrDefault(key));
    }

    protected override Task StopTargetAsync() => _server.StopAsync();

    protected override Task StartTargetAsync() => _server.StartAsync();

    [Fact]
    public async Task DeliverAsync_Post_CarriesTargetAndDeliveryHeaders()
    {
        var target = NewTarget();
        target.Upstream.Headers["X-Tenant"] = "blue";
        var delivery = NewDelivery(target, "body");

        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(delivery)).Outcome);

        var headers = _server.Headers[target.Upstream.Url[(target.Upstream.Url.LastIndexOf('/') + 1)..]];
        Assert.Equal("blue", headers["X-Tenant"].ToString());
        Assert.Equal(delivery.Id, headers[UpstreamSink.DeliveryIdHeader].ToString());
        Assert.Equal(delivery.Version.ToString(), headers[UpstreamSink.VersionHeader].ToString());
    }

    [Theory]
    [InlineData(200, DeliveryOutcome.Delivered)]
    [InlineData(204, DeliveryOutcome.Delivered)]
    [InlineData(408, DeliveryOutcome.RetriableFailure)]
    [InlineData(429, DeliveryOutcome.RetriableFailure)]
    [InlineData(500, DeliveryOutcome.RetriableFailure)]
    [InlineData(503, DeliveryOutcome.RetriableFailure)]
    [InlineData(400, DeliveryOutcome.PermanentFailure)]
    [InlineData(404, DeliveryOutcome.PermanentFailure)]
    [InlineData(422, DeliveryOutcome.PermanentFailure)]
    public async Task DeliverAsync_UpstreamStatus_MapsToOutcome(int status, DeliveryOutcome expected)
    {
        var result = await _sink.DeliverAsync(NewDelivery(Http($"/status/{status}"), "x"));

        Assert.Equal(expected, result.Outcome);
    }

    [Theory]
    [InlineData("/status/429?retryAfter=7", 7)]
    [InlineData("/status/503?retryAfter=2", 2)]
    [InlineData("/status/503", null)]
    public async Task DeliverAsync_RetryAfter_CarriedWithTheRetriableFailure(string path, int? seconds)
    {
        var result = await _sink.DeliverAsync(NewDelivery(Http(path), "x"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, result.RetryAfter);
    }

    [Fact]
    public async Task DeliverAsync_Failure_TextNamesTheUrlWithoutItsCredentialsOrQuery()
    {
        // The text goes into the dead letter and the logs; a target's URL may carry a password or a token.
        var target = new Target { Upstream = new UpstreamTarget { Url = $"http://user:pw-secret@127.0.0.1:{_server.HttpPort}/status/503?token=q-secret" } };

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Contains($"127.0.0.1:{_server.HttpPort}/status/503?…", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_SlowerThanTargetTimeout_RetriableWithinDeadline()
    {
        var target = Http("/slow");
        target.Upstream.Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Contains("200 ms", result.Error);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task DeliverAsync_InvalidUrlOrHeader_PermanentFailure()
    {
        var badUrl = new Target { Upstream = new UpstreamTarget { Url = "ftp://example/x" } };
        var badHeader = NewTarget();
        badHeader.Upstream.Headers["Bad Header"] = "x";

        Assert.Equal(DeliveryOutcome.PermanentFailure, (await _sink.DeliverAsync(NewDelivery(badUrl, "x"))).Outcome);
        Assert.Equal(DeliveryOutcome.PermanentFailure, (await _sink.DeliverAsync(NewDelivery(badHeader, "x"))).Outcome);
    }

    [Theory]
    [InlineData(60 * 24 * 3600L, 0)]
    [InlineData(1L, -1)]
    [InlineData(-5L, 0)]
    public async Task DeliverAsync_TimeoutNotAValidDuration_PermanentFailureNotAnException(long seconds, int nanos)
    {
        // 60 days is valid but beyond any attempt: it is cut to MaxTimeout (CancelAfter threw above 49.7 days).
        var target = NewTarget();
        target.Upstream.Timeout = new Duration { Seconds = seconds, Nanos = nanos };

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(seconds > 0 && nanos == 0 ? DeliveryOutcome.Delivered : DeliveryOutcome.PermanentFailure, result.Outcome);
    }

    [Fact]
    public async Task DeliverAsync_TargetAsksForMoreThanMaxTimeout_GrpcUpstreamToldTheDeadlineItHas()
    {
        await using var sink = new UpstreamSink(new UpstreamSinkOptions { MaxTimeout = TimeSpan.FromSeconds(2), UseGrpcForServiceMethodPaths = true });
        var key = Guid.NewGuid().ToString("N");
        var target = Grpc($"/wal.test.Items/Put?key={key}");
        target.Upstream.Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(30));

        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(NewDelivery(target, "x"))).Outcome);

        Assert.Equal("2000m", _server.Headers[key]["grpc-timeout"].ToString());
    }

    [Fact]
    public async Task DeliverAsync_TargetHeaderGrpcTimeout_UpstreamToldOnlyTheDeadlineItHas()
    {
        // A target's headers were added next to the sink's own: a target header grpc-timeout made the upstream see
        // "2000m, 1H", which a gRPC server either refuses as malformed or reads as an hour it does not have.
        await using var sink = new UpstreamSink(new UpstreamSinkOptions { MaxTimeout = TimeSpan.FromSeconds(2), UseGrpcForServiceMethodPaths = true });
        var key = Guid.NewGuid().ToString("N");
        var target = Grpc($"/wal.test.Items/Put?key={key}");
        target.Upstream.Headers["grpc-timeout"] = "1H";

        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(NewDelivery(target, "x"))).Outcome);

        Assert.Equal("2000m", _server.Headers[key]["grpc-timeout"].ToString());
    }

    [Theory]
    [InlineData("w-1\r\nX-Injected: by-the-writer", "w-1%0D%0AX-Injected:%20by-the-writer")]
    [InlineData("café-1", "caf%C3%A9-1")]
    [InlineData("100%", "100%25")]
    [InlineData("plain-id_1", "plain-id_1")]
    public async Task DeliverAsync_AnyId_DeliveredWithTheIdPercentEncodedAndNoHeaderAdded(string id, string header)
    {
        var target = NewTarget();

        var result = await _sink.DeliverAsync(new Delivery(id, target, "x"u8.ToArray(), 1));

        Assert.True(result.Outcome == DeliveryOutcome.Delivered, $"{result.Outcome}: {result.Error}");
        var seen = _server.Headers[target.Upstream.Url[(target.Upstream.Url.LastIndexOf('/') + 1)..]];
        Assert.Equal(header, seen[UpstreamSink.DeliveryIdHeader].ToString());
        Assert.False(seen.ContainsKey("X-Injected"));
    }

    [Fact]
    public async Task DeliverAsync_NonAsciiHeaderValue_PermanentFailureNamingTheHeader()
    {
        var target = NewTarget();
        target.Upstream.Headers["X-Tenant"] = "café";

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("'X-Tenant'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_ContentTypeInTarget_ReplacesTheDefault()
    {
        var target = NewTarget();
        target.Upstream.Headers["Content-Type"] = "application/json";

        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "{}"))).Outcome);

        Assert.Equal("application/json", _server.Headers[target.Upstream.Url[(target.Upstream.Url.LastIndexOf('/') + 1)..]].ContentType.ToString());
    }

    [Fact]
    public async Task DeliverAsync_GrpcMethod_SendsFramedMessageOverHttp2()
    {
        var key = Guid.NewGuid().ToString("N");
        var target = Grpc($"/wal.test.Items/Put?key={key}");
        var delivery = NewDelivery(target, "grpc payload");

        var result = await _sink.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("grpc payload", Encoding.UTF8.GetString(_server.Items[key]));
        var headers = _server.Headers[key];
        Assert.Equal("application/grpc", headers.ContentType.ToString());
        Assert.Equal("trailers", headers.TE.ToString());
        Assert.Equal(delivery.Id, headers[UpstreamSink.DeliveryIdHeader].ToString());
        Assert.EndsWith("m", headers["grpc-timeout"].ToString());
    }

    [Theory]
    [InlineData(14, DeliveryOutcome.RetriableFailure)]
    [InlineData(4, DeliveryOutcome.RetriableFailure)]
    [InlineData(8, DeliveryOutcome.RetriableFailure)]
    [InlineData(10, DeliveryOutcome.RetriableFailure)]
    [InlineData(3, DeliveryOutcome.PermanentFailure)]
    [InlineData(7, DeliveryOutcome.PermanentFailure)]
    [InlineData(12, DeliveryOutcome.PermanentFailure)]
    public async Task DeliverAsync_GrpcStatus_MapsToOutcome(int status, DeliveryOutcome expected)
    {
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Fail?status={status}"), "x"));

        Assert.Equal(expected, result.Outcome);
        Assert.Contains($"grpc-status {status}: failed on purpose", result.Error);
    }

    [Theory]
    [InlineData(14, "1500", 1500)]
    [InlineData(8, "0", 0)]
    [InlineData(14, "-1", null)]
    [InlineData(14, "", null)]
    public async Task DeliverAsync_GrpcRetryPushback_CarriedWithTheRetriableFailure(int status, string pushbackMs, int? expectedMs)
    {
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Fail?status={status}&pushbackMs={pushbackMs}"), "x"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Equal(expectedMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, result.RetryAfter);
    }

    [Theory]
    [InlineData(400, DeliveryOutcome.PermanentFailure)]
    [InlineData(401, DeliveryOutcome.PermanentFailure)]
    [InlineData(404, DeliveryOutcome.PermanentFailure)]
    [InlineData(408, DeliveryOutcome.PermanentFailure)]
    [InlineData(429, DeliveryOutcome.RetriableFailure)]
    [InlineData(500, DeliveryOutcome.PermanentFailure)]
    [InlineData(502, DeliveryOutcome.RetriableFailure)]
    [InlineData(503, DeliveryOutcome.RetriableFailure)]
    [InlineData(504, DeliveryOutcome.RetriableFailure)]
    public async Task DeliverAsync_GrpcCallAnsweredHttpStatusWithoutGrpcStatus_ReadAsGrpcMapsIt(int code, DeliveryOutcome expected)
    {
        // gRPC's HTTP-to-gRPC mapping: 429, 502, 503, 504 are UNAVAILABLE; 400 INTERNAL, 401 UNAUTHENTICATED,
        // 404 UNIMPLEMENTED; anything else UNKNOWN. The sink used its plain-HTTP rules, which retried 408 and 500.
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Http?code={code}"), "x"));

        Assert.True(result.Outcome == expected, $"{result.Outcome}: {result.Error}");
        Assert.Contains($"HTTP {code}", result.Error, StringComparison.Ordinal);
        Assert.Contains("without grpc-status", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_GrpcCallAnswered503WithRetryAfter_RetriableAfterThatLong()
    {
        var result = await _sink.DeliverAsync(NewDelivery(Grpc("/wal.test.Items/Http?code=503&retryAfter=3"), "x"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(3), result.RetryAfter);
    }

    [Theory]
    [InlineData(400, 14, DeliveryOutcome.RetriableFailure)]
    [InlineData(503, 3, DeliveryOutcome.PermanentFailure)]
    public async Task DeliverAsync_GrpcStatusWithNonOkHttpStatus_TheGrpcStatusDecides(int code, int grpcStatus, DeliveryOutcome expected)
    {
        // The spec: a grpc-status, when present, must be used; the HTTP status decided before.
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Http?code={code}&grpcStatus={grpcStatus}"), "x"));

        Assert.True(result.Outcome == expected, $"{result.Outcome}: {result.Error}");
        Assert.Contains($"grpc-status {grpcStatus}", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("trailers", "OK")]
    [InlineData("trailers", "+14")]
    [InlineData("headers", "14abc")]
    [InlineData("headers", "-1")]
    public async Task DeliverAsync_MalformedGrpcStatus_PermanentNamingTheValue(string where, string value)
    {
        // "+14" was read as 14 and retried until the retries ran out; the others were reported as "without grpc-status".
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Malformed?where={where}&value={Uri.EscapeDataString(value)}"), "x"));

        Assert.True(result.Outcome == DeliveryOutcome.PermanentFailure, $"{result.Outcome}: {result.Error}");
        Assert.Contains($"malformed grpc-status '{value}'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_GrpcAnswerLongerThanTheLimit_PermanentNamingTheLimit()
    {
        // The sink read the whole answer into memory to reach the trailers, whatever its size.
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Big?bytes={16 * 1024 * 1024}"), "x"));

        Assert.True(result.Outcome == DeliveryOutcome.PermanentFailure, $"{result.Outcome}: {result.Error}");
        Assert.Contains("more than 4 MiB", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_GrpcAnswerJustWithinTheLimit_Delivered()
    {
        var result = await _sink.DeliverAsync(NewDelivery(Grpc($"/wal.test.Items/Big?bytes={4 * 1024 * 1024}"), "x"));

        Assert.True(result.Outcome == DeliveryOutcome.Delivered, $"{result.Outcome}: {result.Error}");
    }

    [Fact]
    public async Task DeliverAsync_GrpcAnswerBrokenOffInItsBody_Retriable()
    {
        var result = await _sink.DeliverAsync(NewDelivery(Grpc("/wal.test.Items/Reset"), "x"));

        Assert.True(result.Outcome == DeliveryOutcome.RetriableFailure, $"{result.Outcome}: {result.Error}");
        Assert.Contains("failed", result.Error, StringComparison.Ordinal);
    }

    public Task InitializeAsync() => _server.StartAsync();

    public async Task DisposeAsync() => await _sink.DisposeAsync();

    private Target Http(string path) => new() { Upstream = new UpstreamTarget { Url = $"http://127.0.0.1:{_server.HttpPort}{path}" } };

    private Target Grpc(string pathAndQuery) => new() { Upstream = new UpstreamTarget { Url = $"http://127.0.0.1:{_server.GrpcPort}{pathAndQuery}" } };
}
