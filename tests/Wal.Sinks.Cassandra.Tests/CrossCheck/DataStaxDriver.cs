using System.Diagnostics;

namespace Wal.Sinks.Cassandra.Tests.CrossCheck;

/// <summary>Runs one of the cross-check scripts under Debian's python3 with python3-cassandra.</summary>
internal static class DataStaxDriver
{
    public static string Run(string script, string? input = null)
    {
        // Debian's interpreter: a pyenv python3 first on PATH cannot see Debian's python3-cassandra.
        var start = new ProcessStartInfo("/usr/bin/python3", Path.Combine(AppContext.BaseDirectory, "CrossCheck", script))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = Process.Start(start) ?? throw new InvalidOperationException("Could not start /usr/bin/python3.");
        python.StandardInput.Write(input ?? string.Empty);
        python.StandardInput.Close();
        var errors = python.StandardError.ReadToEndAsync();
        var output = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        return python.ExitCode == 0
            ? output
            : throw new InvalidOperationException(
                $"The DataStax driver cross-check needs Debian's python3-cassandra (apt-get install python3-cassandra); {script} failed: {errors.Result}");
    }
}
