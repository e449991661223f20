namespace Wal.Cli;

/// <summary>A command failed in a way it can explain: what was wrong and what to do next.</summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string problem, string nextStep)
        : base(problem)
    {
        ExitCode = exitCode;
        NextStep = nextStep;
    }

    public CliException()
        : this(ExitCodes.Failed, "failed", "see the log")
    {
    }

    public CliException(string message)
        : this(ExitCodes.Failed, message, "see the log")
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.Failed;
        NextStep = "see the log";
    }

    public int ExitCode { get; }

    public string NextStep { get; }
}
