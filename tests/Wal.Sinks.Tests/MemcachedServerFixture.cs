using Wal.Sinks.Memcached.Local;

namespace Wal.Sinks.Tests;

/// <summary>
/// A real memcached (<see cref="MemcachedProcess"/>) on a loopback port fixed for one test class,
/// so it can be stopped and started again on the same port to play an outage.
/// </summary>
public sealed class MemcachedServerFixture : IAsyncLifetime
{
    private MemcachedProcess? _process;

    public int Port { get; } = LoopbackPort.Free();

    public string Server => $"127.0.0.1:{Port}";

    public Task InitializeAsync() => StartAsync();

    /// <summary>Starts the server on <see cref="Port"/> unless it is running.</summary>
    public async Task StartAsync()
    {
        _process ??= await MemcachedProcess.StartAsync(Port, threads: 2);
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public Task DisposeAsync() => StopAsync();

    /// <summary>One counter from the running server's <c>stats</c>, such as <c>cmd_get</c>.</summary>
    public Task<long> StatAsync(string name) =>
        (_process ?? throw new InvalidOperationException("memcached is stopped.")).StatAsync(name);
}
