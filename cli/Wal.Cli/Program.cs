using System.CommandLine;
using Wal.Cli;
using Wal.Cli.Commands;

var root = new RootCommand("wal: a write-ahead log service. Writes are durable in Kafka first, then delivered to their targets.")
{
    WriteCommand.Create(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // A script needs to tell "you called me wrong" (2) from "it failed" (1).
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }

    Console.Error.WriteLine($"Run '{string.Join(' ', ["wal", .. parse.CommandResult.Command.Parents.OfType<Command>().Where(c => c is not RootCommand).Select(c => c.Name).Reverse(), parse.CommandResult.Command is RootCommand ? null : parse.CommandResult.Command.Name]).Trim()} --help' for usage.");
    return ExitCodes.Usage;
}

return await parse.InvokeAsync();
