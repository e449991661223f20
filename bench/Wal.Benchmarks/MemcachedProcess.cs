using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Wal.Benchmarks;

/// <summary>The Debian memcached binary on a free loopback port, for the length of one benchmark.</summary>
internal sealed class MemcachedProcess : IDisposable
{
    private const string BinaryPath = "/usr/bin/memcached";
    private readonly Process _process;

    private MemcachedProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public static async Task<MemcachedProcess> StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"{BinaryPath} is missing; install Debian's memcached package.");
        }

        var port = FreePort();
        var info = new ProcessStartInfo(BinaryPath) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-l", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "0", "-m", "512", "-t", "2" })
        {
            info.ArgumentList.Add(arg);
        }

        // memcached refuses to run as root unless told which user to run as.
        if (Environment.UserName == "root")
        {
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add("root");
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {BinaryPath}.");
        var server = new MemcachedProcess(process, port);
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return server;
            }
            catch (SocketException) when (Stopwatch.GetTimestamp() < deadline && !process.HasExited)
            {
                await Task.Delay(20, cancellationToken);
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
