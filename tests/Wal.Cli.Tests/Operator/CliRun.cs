namespace Wal.Cli.Tests.Operator;

/// <summary>What one in-process <c>wal</c> run returned and printed.</summary>
public sealed record CliRun(int Exit, string Out, string Error)
{
    public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Error}";
}
