using System.Diagnostics;

namespace Wal.Streams.Tests;

/// <summary>
/// strace attached to this test process for a few calls of the test's own thread: the system calls named, each with
/// the path behind its descriptors (strace -y), in the order the kernel saw them.
/// </summary>
internal sealed class SystemCallTrace : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly Process _strace;
    private readonly string _log;

    private SystemCallTrace(Process strace, string log)
    {
        _strace = strace;
        _log = log;
    }

    public static string? StracePath { get; } = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, "strace"))
        .FirstOrDefault(File.Exists);

    /// <summary>Starts tracing <paramref name="calls"/> and returns once the calling thread is traced.</summary>
    public static SystemCallTrace Start(params string[] calls) => Start(calls, []);

    /// <summary>
    /// Makes <paramref name="calls"/> on <paramref name="path"/> fail with <paramref name="error"/> (an errno name, such as
    /// EACCES) until disposed, whichever thread makes them, without running them; calls on other paths run as usual.
    /// </summary>
    public static SystemCallTrace Failing(string path, string error, params string[] calls) =>
        Start(calls, ["-P", path, "-e", $"inject={string.Join(',', calls)}:error={error}"]);

    private static SystemCallTrace Start(string[] calls, string[] options)
    {
        var log = Path.Combine(Path.GetTempPath(), $"wal-strace-{Guid.NewGuid():N}.log");
        var start = new ProcessStartInfo(StracePath ?? throw new Xunit.Sdk.XunitException("strace is not installed: ./wal setup installs it (Debian package strace)"))
        {
            ArgumentList = { "-f", "-y", "-qq", "-e", "trace=" + string.Join(',', calls), "-o", log, "-p", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardError = true,
        };
        foreach (var option in options)
        {
            start.ArgumentList.Add(option);
        }

        var strace = Process.Start(start)!;
        var trace = new SystemCallTrace(strace, log);
        // Polled on this thread, not through Eventually: the condition is about the calling thread itself, which an
        // await could leave.
        if (!SpinWait.SpinUntil(() => strace.HasExited || ThisThreadTraced(), Deadline) || strace.HasExited)
        {
            trace.Dispose();
            throw new Xunit.Sdk.XunitException($"strace did not attach to this process: {strace.StandardError.ReadToEnd()}");
        }

        return trace;
    }

    /// <summary>Detaches strace and returns the calls it saw, one a line.</summary>
    public IReadOnlyList<string> Stop()
    {
        Interrupt();
        return File.ReadAllLines(_log);
    }

    public void Dispose()
    {
        Interrupt();
        File.Delete(_log);
        _strace.Dispose();
    }

    // SIGINT, not a kill: strace then detaches from every thread and writes out what it saw.
    private void Interrupt()
    {
        if (_strace.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-INT", _strace.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        if (!_strace.WaitForExit(Deadline))
        {
            _strace.Kill();
        }
    }

    private static bool ThisThreadTraced() =>
        File.ReadLines("/proc/thread-self/status").Any(line => line.StartsWith("TracerPid:", StringComparison.Ordinal) && line.Split(':')[1].Trim() != "0");
}
