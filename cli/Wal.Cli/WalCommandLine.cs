using System.CommandLine;
using Wal.Cli.Commands;

namespace Wal.Cli;

/// <summary>The `wal` command tree; Program runs it, tests inspect it.</summary>
internal static class WalCommandLine
{
    /// <summary>
    /// How long a command may take to stop what it started after Ctrl-C or SIGTERM (commit the topology, answer the
    /// ingress's writes in flight) before the process is ended. A supervisor that kills sooner cuts that short.
    /// </summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    public static RootCommand Create() =>
        new("wal: a write-ahead log service. Writes are durable in Kafka first, then delivered to their targets.")
        {
            UpCommand.Create(),
            IngressCommand.Create(),
            TopologyCommand.Create(),
            WriteCommand.Create(),
            MutateCommand.Create(),
            CacheCommand.Create(),
            NamespacesCommand.Create(),
            DlqCommand.Create(),
            ReplayCommand.Create(),
            StatusCommand.Create(),
        };

    /// <summary>Parses and runs <paramref name="args"/>; output goes to the given writers (default: the console).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A script needs to tell "you called me wrong" (2) from "it failed" (1).
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync($"error: {problem.Message}");
            }

            await error.WriteLineAsync($"Run '{CommandPath(parse.CommandResult.Command)} --help' for usage.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Ctrl-C and SIGTERM cancel the action's token; give it time to stop what it started
            // (commit the topology, stop memcached) before the process is ended.
            ProcessTerminationTimeout = StopTimeout,
        }, cancellationToken);
    }

    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (var c = command; c is not null && c is not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Add(c.Name);
        }

        names.Add("wal");
        names.Reverse();
        return string.Join(' ', names);
    }
}
