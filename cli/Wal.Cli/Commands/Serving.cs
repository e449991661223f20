using System.CommandLine;

namespace Wal.Cli.Commands;

/// <summary>
/// Runs a command that serves until Ctrl-C (<c>wal up</c>, <c>wal ingress</c>, <c>wal topology</c>). Ctrl-C while it
/// still starts cancels whichever step waits (on Kafka, memcached, a store): the user asked it to stop, so it ends as a
/// stop after start-up does, exit 0, rather than as a failure with no message.
/// </summary>
internal static class Serving
{
    public static void SetServingAction(this Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await action(parse, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The action's disposals have run by now: what it had started is stopped.
                await parse.InvocationConfiguration.Error.WriteLineAsync("stopped while starting: Ctrl-C or SIGTERM came before it was running; what it had started is stopped.");
                return ExitCodes.Ok;
            }
        });
}
