using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Wal.Cli.Local;

/// <summary>A memcached server this process started and will stop: the local stand-in for EVCache.</summary>
internal sealed class MemcachedProcess : IAsyncDisposable
{
    private const string Binary = "/usr/bin/memcached";
    private readonly Process _process;

    private MemcachedProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts memcached on 127.0.0.1 and waits until it answers.</summary>
    /// <exception cref="InvalidOperationException">memcached is not installed or did not come up.</exception>
    public static async Task<MemcachedProcess> StartAsync(int port = 0, int memoryMegabytes = 64, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: install Debian's memcached package (./wal setup does).");
        }

        port = port == 0 ? FreePort() : port;
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "-l", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "0", "-m", memoryMegabytes.ToString(CultureInfo.InvariantCulture) },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Environment.UserName == "root")
        {
            // memcached refuses to run as root unless told which user to be.
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("root");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("memcached did not start.");
        var server = new MemcachedProcess(process, port);
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 10);
        while (!await server.AnswersAsync(cancellationToken))
        {
            if (process.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                var error = process.HasExited ? await process.StandardError.ReadToEndAsync(cancellationToken) : "no answer within 10 s";
                await server.DisposeAsync();
                throw new InvalidOperationException($"memcached on port {port} did not come up: {error.Trim()}");
            }

            await Task.Delay(50, cancellationToken);
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("mn\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("MN", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
