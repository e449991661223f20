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

    /// <summary>One counter from the server's <c>stats</c>, such as <c>cmd_get</c>.</summary>
    public async Task<long> StatAsync(string name, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        var colon = Server.LastIndexOf(':');
        await client.ConnectAsync(IPAddress.Loopback, int.Parse(Server[(colon + 1)..]), cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("stats\r\n"u8.ToArray(), cancellationToken);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken) is { } line && line != "END")
        {
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[1] == name)
            {
                return long.Parse(parts[2]);
            }
        }

        throw new InvalidOperationException($"memcached's stats have no '{name}'.");
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
