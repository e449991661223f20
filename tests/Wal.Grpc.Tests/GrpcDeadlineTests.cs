using System.Diagnostics;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

public sealed class GrpcDeadlineTests(EchoServer server) : IClassFixture<EchoServer>
{
    [Theory]
    [InlineData("1H", 3600.0)]
    [InlineData("2M", 120.0)]
    [InlineData("3S", 3.0)]
    [InlineData("250m", 0.25)]
    [InlineData("1500u", 0.0015)]
    [InlineData("2000000n", 0.002)]
    [InlineData("1193H", 1193 * 3600.0)]
    public void TryParse_EachUnit_Converts(string header, double seconds)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.NotNull(timeout);
        Assert.Equal(seconds, timeout.Value.TotalSeconds, precision: 6);
    }

    [Theory]
    [InlineData("1194H")]
    [InlineData("99999999S")]
    [InlineData("99999999H")]
    public void TryParse_BeyondTheLongestTimer_NoDeadline(string header)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Null(timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    public void TryParse_Malformed_False(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData("100m")]
    [InlineData("100000u")]
    [InlineData("99000000n")]
    public async Task Unary_DeadlineBeforeHandlerEnds_DeadlineExceededPromptly(string timeout)
    {
        using var client = new GrpcTestClient(server.Address);
        var started = Stopwatch.GetTimestamp();

        var response = await client.CallAsync(
            EchoServer.Unary, new Echo { Action = "wait", DelayMs = 30_000 }, r => r.Headers.Add("grpc-timeout", timeout));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the deadline did not cancel the handler");
    }

    [Fact]
    public async Task Unary_HandlerIgnoresDeadline_StillDeadlineExceeded()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(
            EchoServer.Unary, new Echo { Action = "ignore-deadline", DelayMs = 300 }, r => r.Headers.Add("grpc-timeout", "50m"));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
    }

    [Fact]
    public async Task Unary_GenerousDeadline_Ok()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Action = "wait", DelayMs = 10 }, r => r.Headers.Add("grpc-timeout", "1M"));

        Assert.Equal(StatusCode.OK, response.Status);
    }

    [Theory]
    [InlineData("1193H")]
    [InlineData("99999999S")]
    [InlineData("99999999H")]
    public async Task Unary_DeadlineTooFarForATimer_Ok(string timeout)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Action = "wait", DelayMs = 10 }, r => r.Headers.Add("grpc-timeout", timeout));

        Assert.Equal(StatusCode.OK, response.Status);
    }

    [Theory]
    [InlineData("1H", "3599")]
    [InlineData("99999999H", "none")]
    [InlineData(null, "none")]
    public async Task Unary_HandlerSeesTheDeadline(string? timeout, string secondsLeft)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Action = "deadline" }, r =>
        {
            if (timeout is not null)
            {
                r.Headers.Add("grpc-timeout", timeout);
            }
        });

        Assert.Equal(StatusCode.OK, response.Status);
        var seen = Echo.Parser.ParseFrom(Assert.Single(response.Messages)).Text;
        if (secondsLeft == "none")
        {
            Assert.Equal("none", seen);
        }
        else
        {
            // Whole seconds left when the handler ran: allow a stalled machine some slack.
            Assert.InRange(long.Parse(seen, System.Globalization.CultureInfo.InvariantCulture), long.Parse(secondsLeft, System.Globalization.CultureInfo.InvariantCulture) - 10, long.Parse(secondsLeft, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    // A timeout of zero is well-formed and already over: even a handler that answers at once is too late.
    [Theory]
    [InlineData("0S")]
    [InlineData("0m")]
    [InlineData("0n")]
    [InlineData("00000000H")]
    public async Task Unary_ZeroTimeout_DeadlineExceededTrailersOnly(string timeout)
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo { Text = "instant" }, r => r.Headers.Add("grpc-timeout", timeout));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.True(response.TrailersOnly);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task Unary_MalformedTimeout_Internal()
    {
        using var client = new GrpcTestClient(server.Address);

        var response = await client.CallAsync(EchoServer.Unary, new Echo(), r => r.Headers.TryAddWithoutValidation("grpc-timeout", "soon"));

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Contains("grpc-timeout", response.Message, StringComparison.Ordinal);
    }
}
