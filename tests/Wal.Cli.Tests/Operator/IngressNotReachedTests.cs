using System.Net;
using System.Net.Sockets;

namespace Wal.Cli.Tests.Operator;

/// <summary>
/// An operator command whose call never reached the ingress ends with the two-line error and exit code 1, not a
/// stack trace. (Nothing listening, and a certificate the CLI does not trust, are in DlqCommandTests and
/// WriteCommandTlsTests.)
/// </summary>
public sealed class IngressNotReachedTests
{
    [Fact]
    public async Task Namespaces_TlsHandshakeNeverAnswered_TwoLineErrorAfterTheDeadline()
    {
        // Takes the connection and says nothing, so the TLS handshake waits until the call's deadline (10 s) ends it.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var address = $"https://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/";

        var run = await OperatorStackFixture.RunAsync("namespaces", "list", "--address", address);

        Assert.True(run.Exit == ExitCodes.Failed, run.ToString());
        var lines = run.ErrorLines;
        Assert.True(lines.Length == 2, run.ToString());
        Assert.StartsWith($"error: cannot reach {address} before the call ended", lines[0], StringComparison.Ordinal);
        Assert.Contains("nothing was sent", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("next: Start the ingress", lines[1], StringComparison.Ordinal);
    }
}
