using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wal.Benchmarks;

/// <summary>A real memcached (the Debian binary) on a free loopback port, for the length of a benchmark.</summary>
internal sealed class MemcachedProcess : IDisposable
{
    private const string BinaryPath = "/usr/bin/memcached";
    private readonly Process _process;

    private MemcachedProcess(Process process, int port)
    {
        _process = process;
        Server = $"127.0.0.1:{port}";
    }

    public string Server { get; }

    public static async Task<MemcachedProcess> StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"memcached is not installed at {BinaryPath}; install Debian's 'memcached' package.");
        }

        var port = FreePort();
        var info = new ProcessStartInfo(BinaryPath) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in new[] { "-l", "127.0.0.1", "-p", port.ToString(), "-U", "0", "-m", "512", "-t", "2" })
        {
            info.ArgumentList.Add(arg);
        }

        if (Environment.UserName == "root")
        {
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add("root");
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {BinaryPath}.");
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return new MemcachedProcess(process, port);
            }
            catch (SocketException) when (Stopwatch.GetTimestamp() < deadline && !process.HasExited)
            {
                await Task.Delay(20, cancellationToken);
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
