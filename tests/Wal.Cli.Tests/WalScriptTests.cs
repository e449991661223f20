using System.Diagnostics;

namespace Wal.Cli.Tests;

/// <summary>
/// The repository's <c>./wal</c> script, which README.md has people run: it must hand the CLI the caller's working
/// directory, or every relative path a command takes (<c>--value-file</c>, <c>-f</c>, <c>--namespaces</c>) is read
/// from the repository instead.
/// </summary>
public sealed class WalScriptTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Write_RelativeValueFile_ReadFromTheCallersDirectory()
    {
        var caller = Directory.CreateTempSubdirectory("wal-script-caller-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(caller.FullName, "payload.txt"), "hello");

            // Nothing listens on port 1: a command that found its file goes on to call the ingress and answers FALSE.
            var (exit, output, error) = await RunScriptAsync(
                caller.FullName, "write", "demo", "--memcached-key", "k", "--value-file", "payload.txt", "--address", "http://127.0.0.1:1/");

            Assert.True(exit == ExitCodes.NotDurable, $"exit {exit}\nstdout:\n{output}\nstderr:\n{error}");
            Assert.StartsWith("durable: FALSE", output, StringComparison.Ordinal);
        }
        finally
        {
            caller.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Help_ScriptCalledByARelativePath_PrintsItsOwnCommandsThenTheCli()
    {
        // As in '../wal --help' from a folder of the repository: the script's own lines come from the script itself.
        var caller = Path.Combine(RepositoryRoot(), "docs");

        var (exit, output, error) = await RunScriptByPathAsync(caller, Path.GetRelativePath(caller, Path.Combine(RepositoryRoot(), "wal")), "--help");

        Assert.True(exit == ExitCodes.Ok, $"exit {exit}\nstdout:\n{output}\nstderr:\n{error}");
        Assert.StartsWith("Wal's front door", output, StringComparison.Ordinal);
        Assert.Contains("Commands:", output, StringComparison.Ordinal);
    }

    private static Task<(int Exit, string Output, string Error)> RunScriptAsync(string workingDirectory, params string[] args) =>
        RunScriptByPathAsync(workingDirectory, Path.Combine(RepositoryRoot(), "wal"), args);

    private static async Task<(int Exit, string Output, string Error)> RunScriptByPathAsync(string workingDirectory, string script, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(Deadline);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    // The test runs from tests/Wal.Cli.Tests/bin/<configuration>/<framework>, inside the repository it tests.
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "wal")) && File.Exists(Path.Combine(dir.FullName, "Wal.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No repository with a wal script above {AppContext.BaseDirectory}");
    }
}
