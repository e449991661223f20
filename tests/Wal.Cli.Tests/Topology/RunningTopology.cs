using System.Globalization;
using System.Net;

namespace Wal.Cli.Tests.Topology;

/// <summary>
/// <c>wal topology</c> running in-process with its admin port on a free loopback port, until stopped or disposed: its
/// console kept for failure messages, its probes and metrics one call away, its state directory removed after.
/// </summary>
internal sealed class RunningTopology : IAsyncDisposable
{
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new();

    private RunningTopology(string stateDirectory, IEnumerable<string> arguments)
    {
        StateDirectory = stateDirectory;
        var port = LoopbackPorts.Free();
        _http.BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Run = WalCommandLine.RunAsync(
            ["topology", "--state-dir", stateDirectory, "--admin-port", port.ToString(CultureInfo.InvariantCulture), .. arguments], Output, Error, _stop.Token);
    }

    public string StateDirectory { get; }

    public Uri AdminAddress => _http.BaseAddress!;

    public StringWriter Output { get; } = new();

    public StringWriter Error { get; } = new();

    /// <summary>The command's exit code, once it ends.</summary>
    public Task<int> Run { get; }

    /// <summary>Starts <c>wal topology</c> with <paramref name="arguments"/>, in a state directory of its own.</summary>
    public static RunningTopology Start(params string[] arguments) =>
        new(Path.Combine(Path.GetTempPath(), $"wal-topology-{Guid.NewGuid():N}"), arguments);

    public string Console() => $"stdout:\n{Output}\nstderr:\n{Error}";

    /// <summary>An admin endpoint's status and body; 503 with the reason while nothing listens.</summary>
    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException e)
        {
            return (HttpStatusCode.ServiceUnavailable, e.Message);
        }
    }

    /// <summary>Stops it as Ctrl-C does and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await Run.WaitAsync(StopDeadline);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        _stop.Dispose();
        Output.Dispose();
        Error.Dispose();
        if (Directory.Exists(StateDirectory))
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
    }
}
