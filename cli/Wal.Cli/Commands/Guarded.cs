using System.CommandLine;
using System.Security.Authentication;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Wal.Client;
using Wal.Namespaces;

namespace Wal.Cli.Commands;

/// <summary>
/// Runs an operator command so that every failure ends the same way: the problem and the next
/// step on stderr (and as JSON on stdout with <c>--output json</c>), and a documented exit code.
/// </summary>
internal static class Guarded
{
    public static void SetGuardedAction(this Command command, Func<ParseResult, Terminal, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var terminal = new Terminal(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, parse.GetValue(CommonOptions.Output));
            try
            {
                return await action(parse, terminal, cancellationToken);
            }
            catch (Exception e) when (Explain(e, AddressOf(parse)) is { } failure)
            {
                await terminal.Error.WriteLineAsync($"error: {failure.Message}");
                await terminal.Error.WriteLineAsync($"next: {failure.NextStep}");
                if (terminal.IsJson)
                {
                    terminal.WriteJson(new JsonObject { ["error"] = failure.Message, ["next"] = failure.NextStep, ["exitCode"] = failure.ExitCode });
                }

                return failure.ExitCode;
            }
        });

    private static Uri? AddressOf(ParseResult parse) =>
        parse.CommandResult.Command.Options.Contains(CommonOptions.Address)
        || parse.CommandResult.Command.Parents.OfType<Command>().Any(c => c.Options.Contains(CommonOptions.Address))
            ? parse.GetValue(CommonOptions.Address)
            : null;

    private static CliException? Explain(Exception e, Uri? address) => e switch
    {
        CliException known => known,
        // Before any status from the server: the call never left, so it changed nothing and running it again is safe.
        WalCallException { NothingSent: true, StatusCode: 1 } => new(ExitCodes.Failed, "interrupted", "Run the same command again; nothing was sent."),
        WalCallException { NothingSent: true, InnerException: HttpRequestException { InnerException: AuthenticationException } } call =>
            new(ExitCodes.Failed, call.Message, $"Pass --tls-ca with the CA that issued the certificate of the ingress at {address} (and --tls-cert/--tls-key if it asks for a client certificate), then run the command again."),
        WalCallException { NothingSent: true } call => new(ExitCodes.Failed, call.Message, "Start the ingress ('wal up' or 'wal ingress') or pass --address / set WAL_ADDRESS."),
        WalCallException { StatusCode: 3 } call => new(ExitCodes.Usage, call.Message, "Fix the named field(s) and run the command again."),
        WalCallException { StatusCode: 5 } call => new(ExitCodes.Failed, call.Message, "Run 'wal namespaces list' to see the defined namespaces."),
        WalCallException { StatusCode: 6 } call => new(ExitCodes.Failed, call.Message, "Use 'wal namespaces apply -f FILE' to update it instead."),
        WalCallException { StatusCode: 12 } call => new(ExitCodes.Failed, call.Message, $"The server at {address} does not serve this call; point --address at a Wal ingress."),
        WalCallException call => new(ExitCodes.Failed, call.Message, "Check the ingress log, then retry."),
        NamespaceConfigException config => new(ExitCodes.Usage, config.Message, "Fix the named field(s) in the file and run the command again."),
        HttpRequestException or IOException when address is not null => new(ExitCodes.Failed, $"cannot reach the ingress at {address}: {e.Message}", "Start it ('wal up' or 'wal ingress') or pass --address / set WAL_ADDRESS."),
        KafkaException kafka => new(ExitCodes.Failed, $"Kafka: {kafka.Error.Reason}", "Check --bootstrap-servers (or WAL_BOOTSTRAP_SERVERS) and that the cluster is up."),
        TimeoutException timeout => new(ExitCodes.Failed, timeout.Message, "Check --bootstrap-servers (or WAL_BOOTSTRAP_SERVERS) and that the cluster is up."),
        OperationCanceledException => new(ExitCodes.Failed, "interrupted", "Run the same command again; it resumes where it stopped."),
        _ => null,
    };
}
