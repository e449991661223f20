using System.Net;

namespace Wal.Cli.Tests.Operator;

/// <summary><c>wal up</c> serves its topology's endpoints beside the ingress's, as <c>wal topology</c> does.</summary>
[Collection(OperatorCollection.Name)]
public sealed class UpTopologyEndpointsTests(OperatorStackFixture stack)
{
    [Fact]
    public async Task TopologyEndpoints_StackRunning_ReadyAliveAndExportingTheEngine()
    {
        using var http = new HttpClient { BaseAddress = stack.Stack.TopologyEndpoints!.Address };

        await Eventually.WaitUntilAsync(
            async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the topology's /readyz to answer 200");

        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.Contains("# TYPE wal_streams_", await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
        // The ingress's own endpoints export the ingress's meter, not the engine's.
        Assert.NotEqual(stack.Stack.AdminAddress, stack.Stack.TopologyEndpoints.Address);
    }
}
