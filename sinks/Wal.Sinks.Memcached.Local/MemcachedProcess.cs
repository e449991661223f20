using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Wal.Sinks.Memcached.Local;

/// <summary>
/// A memcached server (the Debian binary) this process started on 127.0.0.1 and stops when
/// disposed: the local stand-in for EVCache. Start another on the same <see cref="Port"/> to
/// play an outage and a recovery.
/// </summary>
public sealed class MemcachedProcess : IAsyncDisposable
{
    /// <summary>Where Debian's <c>memcached</c> package installs the server.</summary>
    public const string BinaryPath = "/usr/bin/memcached";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private readonly Process _process;

    private MemcachedProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, as memcached client options take it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts memcached on 127.0.0.1 and waits until it answers a no-op.</summary>
    /// <param name="port">The port to listen on; 0 picks a free one.</param>
    /// <param name="memoryMegabytes">The item memory (<c>-m</c>).</param>
    /// <param name="threads">Worker threads (<c>-t</c>); memcached's own default is 4.</param>
    /// <param name="extraArguments">More command-line options, such as <c>-C</c> or <c>-I 2m</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the server to answer; the server started is stopped.</param>
    /// <exception cref="InvalidOperationException">memcached is not installed or did not come up.</exception>
    public static async Task<MemcachedProcess> StartAsync(int port = 0, int memoryMegabytes = 64, int threads = 4, IReadOnlyList<string>? extraArguments = null, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"{BinaryPath} is missing: install Debian's memcached package (./wal setup does).");
        }

        port = port == 0 ? LoopbackPort.Free() : port;
        var process = Process.Start(StartInfo(port, memoryMegabytes, threads, extraArguments ?? [])) ?? throw new InvalidOperationException($"Could not start {BinaryPath}.");
        var server = new MemcachedProcess(process, port);
        try
        {
            await server.WaitUntilItAnswersAsync(cancellationToken);
            return server;
        }
        catch
        {
            // Cancelled too (Ctrl-C while 'wal up' starts): a server left running holds its port after this process
            // exits, and the next 'wal up' on that port refuses to start.
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>One counter from the server's <c>stats</c>, such as <c>cmd_get</c>.</summary>
    /// <exception cref="InvalidOperationException">The server has no such counter.</exception>
    public async Task<long> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("stats\r\n"u8.ToArray(), cancellationToken);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken) is { } line && line != "END")
        {
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[1] == name)
            {
                return long.Parse(parts[2], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"memcached's stats have no '{name}'.");
    }

    /// <summary>Kills the server and waits until it has exited, so its port is free again.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static ProcessStartInfo StartInfo(int port, int memoryMegabytes, int threads, IReadOnlyList<string> extraArguments)
    {
        var info = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-l", "127.0.0.1", "-p", Text(port), "-U", "0", "-m", Text(memoryMegabytes), "-t", Text(threads) }.Concat(extraArguments))
        {
            info.ArgumentList.Add(argument);
        }

        if (Environment.UserName == "root")
        {
            // memcached refuses to run as root unless told which user to be.
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add("root");
        }

        return info;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    // Whatever answers on the port must be the server this process started: another one already there (a memcached
    // left from an earlier run) answers too, while ours fails to bind and exits, and writes would then go to a server
    // that keeps data across runs and that no one stops. Throws in that case.
    private async Task<bool> IsOursAsync(CancellationToken cancellationToken)
    {
        var pid = await StatAsync("pid", cancellationToken);
        if (pid == _process.Id)
        {
            return true;
        }

        throw new InvalidOperationException(
            $"Port {Port} is already taken by another memcached (pid {pid}): stop it, or choose another port.");
    }

    private async Task WaitUntilItAnswersAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * StartTimeout.TotalSeconds);
        while (!await AnswersAsync(cancellationToken) || !await IsOursAsync(cancellationToken))
        {
            if (_process.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                var error = _process.HasExited ? await _process.StandardError.ReadToEndAsync(cancellationToken) : $"no answer within {StartTimeout.TotalSeconds} s";
                throw new InvalidOperationException($"memcached on port {Port} did not come up: {error.Trim()}");
            }

            await Task.Delay(20, cancellationToken);
        }
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
        catch (IOException)
        {
            // The server accepted and then closed the connection while still starting.
            return false;
        }
    }
}
