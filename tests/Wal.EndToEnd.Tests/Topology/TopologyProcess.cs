using System.Diagnostics;
using System.Globalization;

namespace Wal.EndToEnd.Tests.Topology;

/// <summary>
/// <c>wal topology</c> in a child process (the CLI this project references), so a test can stop it
/// with SIGTERM or kill it with SIGKILL while the test process owns the mock cluster.
/// </summary>
internal sealed class TopologyProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private TopologyProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Whether the instance holds input partitions now, as its log says: the last assignment, revocation or loss it
    /// logged was the assignment of at least one partition. An instance still joining, or one whose partitions a
    /// rebalance has revoked and not yet given back, holds none.
    /// </summary>
    public bool HoldsPartitions
    {
        get
        {
            lock (_lines)
            {
                var last = _lines.LastOrDefault(l =>
                    l.Contains(" was assigned [", StringComparison.Ordinal) || l.Contains("] revoked", StringComparison.Ordinal) || l.Contains(" lost [", StringComparison.Ordinal));
                return last is not null && last.Contains(" was assigned [", StringComparison.Ordinal) && !last.Contains(" was assigned []", StringComparison.Ordinal);
            }
        }
    }

    /// <summary>The last lines the instance wrote, for failure messages.</summary>
    public string Tail
    {
        get
        {
            lock (_lines)
            {
                return string.Join(Environment.NewLine, _lines.TakeLast(20));
            }
        }
    }

    public static TopologyProcess Start(TopologyRig rig, string stateDirectory, TimeSpan sessionTimeout)
    {
        var wal = Path.Combine(AppContext.BaseDirectory, "wal.dll");
        Assert.True(File.Exists(wal), $"The wal CLI is missing at {wal}.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            wal, "topology",
            "--bootstrap-servers", rig.Cluster.BootstrapServers,
            "--namespaces", rig.SeedFile,
            "--application-id", rig.ApplicationId,
            "--memcached", $"local={rig.MemcachedEndpoint}",
            "--state-dir", stateDirectory,
            "--session-timeout", string.Create(CultureInfo.InvariantCulture, $"{sessionTimeout.TotalSeconds:0}s"),
            "--no-create-topics",
            // Several instances run on this host: each takes a free admin port rather than all the default one.
            "--admin-port", "0",
        })
        {
            start.ArgumentList.Add(argument);
        }

        return new TopologyProcess(Process.Start(start) ?? throw new InvalidOperationException("wal topology did not start."));
    }

    /// <summary>SIGTERM: the instance closes its streams (commit, checkpoint, leave the group) and exits.</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(deadline.Token);
    }

    /// <summary>SIGKILL: no commit, no checkpoint, no leaving the group; the group notices after the session timeout.</summary>
    public void Kill()
    {
        Assert.False(_process.HasExited, $"wal topology exited before it could be killed:{Environment.NewLine}{Tail}");
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
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

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }
    }
}
