using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Wal.Sinks.Memcached.Local;

namespace Wal.EndToEnd.Tests;

/// <summary><c>wal up</c> as a person runs it: it comes up, and a signal stops everything it started.</summary>
public sealed class UpCommandTests
{
    [Fact]
    public async Task Up_OnSigterm_StopsTheIngressAndTheMemcachedItStarted()
    {
        var (grpcPort, memcachedPort) = (LoopbackPort.Free(), LoopbackPort.Free());
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "wal.dll"), "up",
            "--namespaces", Path.Combine(AppContext.BaseDirectory, "config", "namespaces.json"),
            "--port", Text(grpcPort), "--admin-port", "-1", "--topology-admin-port", "-1", "--memcached-port", Text(memcachedPort), "--brokers", "1",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var up = Process.Start(start) ?? throw new InvalidOperationException("wal up did not start");
        // Keep both pipes drained: a child blocked on a full pipe would look like one that ignores signals.
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            await WaitForLineAsync(up, "Wal is running", TimeSpan.FromSeconds(90), errors);
            _ = up.StandardOutput.ReadToEndAsync();
            Assert.True(await AcceptsAsync(grpcPort), "the ingress is not listening");
            Assert.True(await AcceptsAsync(memcachedPort), "memcached is not listening");

            using (var kill = Process.Start("kill", ["-TERM", Text(up.Id)]))
            {
                await kill.WaitForExitAsync();
            }

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await up.WaitForExitAsync(deadline.Token);

            Assert.Equal(0, up.ExitCode);
            Assert.False(await AcceptsAsync(memcachedPort), "memcached outlived wal up");
            Assert.False(await AcceptsAsync(grpcPort), "the ingress outlived wal up");
            // A newcomer's first run should not read like a misconfiguration: librdkafka prints its warnings here.
            Assert.DoesNotContain("CONFWARN", await errors, StringComparison.Ordinal);
        }
        finally
        {
            if (!up.HasExited)
            {
                up.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task WaitForLineAsync(Process process, string text, TimeSpan timeout, Task<string> errors)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (await process.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
        {
            if (line.Contains(text, StringComparison.Ordinal))
            {
                return;
            }
        }

        Assert.Fail($"wal up ended before printing '{text}': {await errors}");
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
