namespace Wal.Cli.Tests.Operator;

/// <summary>What one in-process <c>wal</c> run returned and printed.</summary>
public sealed record CliRun(int Exit, string Out, string Error)
{
    /// <summary>The lines of stderr, trimmed, without empty ones: a refused command prints its error and next step there.</summary>
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Error}";
}
