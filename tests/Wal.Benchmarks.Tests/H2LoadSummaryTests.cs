using Wal.Benchmarks.Ingress;

namespace Wal.Benchmarks.Tests;

/// <summary>How the ingress benchmark reads h2load's summary (nghttp2 1.52, as Debian ships it).</summary>
public sealed class H2LoadSummaryTests
{
    [Fact]
    public void Parse_StreamsResetAndTimedOut_EachFailedRequestCountedOnce()
    {
        // h2load's manual: errored is the subset of failed that failed below HTTP, timeout the subset of errored.
        const string Output = """
            finished in 1.00s, 97.00 req/s, 20.00KB/s
            requests: 100 total, 100 started, 100 done, 97 succeeded, 3 failed, 3 errored, 1 timeout
            status codes: 97 2xx, 0 3xx, 0 4xx, 0 5xx
            """;

        var result = H2Load.Parse(Output, TimeSpan.FromSeconds(1), TimeSpan.Zero, []);

        Assert.NotNull(result);
        Assert.Equal(97, result.Succeeded);
        Assert.Equal(3, result.Failed);
        Assert.Equal(97, result.Status2xx);
    }

    [Fact]
    public void Parse_NoSummary_IsNull()
    {
        Assert.Null(H2Load.Parse("h2load: connection refused", TimeSpan.FromSeconds(1), TimeSpan.Zero, []));
    }
}
