using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached.Local;
using Wal.Sinks.Upstream;

namespace Wal.Sinks.Tests;

/// <summary>The upstream sink's gRPC calls against a real gRPC server: Debian's python3-grpcio.</summary>
public sealed class UpstreamSinkGrpcInteropTests : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly int _port = LoopbackPort.Free();
    private Process? _server;

    [Fact]
    public async Task DeliverAsync_RealGrpcServer_ReceivesMessageAndDeliveryMetadata()
    {
        await using var sink = new UpstreamSink(new UpstreamSinkOptions { UseGrpcForServiceMethodPaths = true, DefaultTimeout = TimeSpan.FromSeconds(10) });
        var delivery = new Delivery("interop-1", Target("Put"), Encoding.UTF8.GetBytes("hello grpc"), 42);

        var result = await sink.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        var line = await WaitForLineAsync("RECV ");
        Assert.Equal($"RECV interop-1 42 {Convert.ToHexStringLower(Encoding.UTF8.GetBytes("hello grpc"))}", line);
    }

    [Fact]
    public async Task DeliverAsync_RealGrpcServerAnswersUnavailable_Retriable()
    {
        await using var sink = new UpstreamSink(new UpstreamSinkOptions { UseGrpcForServiceMethodPaths = true, DefaultTimeout = TimeSpan.FromSeconds(10) });

        var result = await sink.DeliverAsync(new Delivery("interop-2", Target("Unavailable"), "x"u8.ToArray(), 1));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Contains("grpc-status 14: down on purpose", result.Error);
    }

    public async Task InitializeAsync()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "grpc_upstream_server.py");
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException($"{Python} is missing; install Debian's python3 and python3-grpcio.");
        }

        var info = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(_port.ToString());
        _server = Process.Start(info) ?? throw new InvalidOperationException("Could not start the python gRPC server.");
        _server.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        _server.BeginOutputReadLine();
        await WaitForLineAsync("READY");
    }

    public async Task DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill();
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
    }

    private Target Target(string method) => new() { Upstream = new UpstreamTarget { Url = $"http://127.0.0.1:{_port}/wal.test.Items/{method}" } };

    private async Task<string> WaitForLineAsync(string prefix)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 15;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            if (_server!.HasExited)
            {
                throw new InvalidOperationException($"The python gRPC server exited: {await _server.StandardError.ReadToEndAsync()}");
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"The python gRPC server printed no '{prefix}' line within 15 s.");
    }
}
