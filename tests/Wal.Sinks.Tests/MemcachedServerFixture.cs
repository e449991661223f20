using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wal.Sinks.Tests;

/// <summary>
/// A real memcached (the Debian binary) on a free loopback port, for one test class. It can be
/// stopped and started again on the same port to play an outage.
/// </summary>
public sealed class MemcachedServerFixture : IDisposable
{
    public const string BinaryPath = "/usr/bin/memcached";
    private Process? _process;

    public MemcachedServerFixture()
    {
        if (!File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"memcached is not installed at {BinaryPath}; install Debian's 'memcached' package to run these tests.");
        }

        Port = FreePort();
        Start();
    }

    public int Port { get; }

    public string Server => $"127.0.0.1:{Port}";

    public void Start()
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        var info = new ProcessStartInfo(BinaryPath)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[] { "-l", "127.0.0.1", "-p", Port.ToString(), "-U", "0", "-m", "64", "-t", "2" })
        {
            info.ArgumentList.Add(arg);
        }

        // memcached refuses to run as root unless told which user to run as.
        if (Environment.UserName == "root")
        {
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add("root");
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {BinaryPath}.");
        WaitUntilAnswering();
    }

    public void Stop()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();

    /// <summary>One counter from the server's <c>stats</c>, such as <c>cmd_get</c>.</summary>
    public long Stat(string name)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        stream.Write("stats\r\n"u8);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line && line != "END")
        {
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[1] == name)
            {
                return long.Parse(parts[2]);
            }
        }

        throw new InvalidOperationException($"memcached's stats have no '{name}'.");
    }

    private void WaitUntilAnswering()
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"memcached exited at start (code {_process.ExitCode}): {_process.StandardError.ReadToEnd()}");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                stream.Write("mn\r\n"u8);
                var answer = new byte[4];
                if (stream.Read(answer) > 0)
                {
                    return;
                }
            }
            catch (SocketException) when (Stopwatch.GetTimestamp() < deadline)
            {
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"memcached did not answer on port {Port} within 10 s.");
            }

            Thread.Sleep(20);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
