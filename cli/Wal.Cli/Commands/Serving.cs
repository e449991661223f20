using System.CommandLine;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Options;
using Wal.Cli.Settings;
using Wal.Namespaces;
using Wal.Streams;

namespace Wal.Cli.Commands;

/// <summary>
/// Runs a command that serves until Ctrl-C (<c>wal up</c>, <c>wal ingress</c>, <c>wal topology</c>). Ctrl-C while it
/// still starts cancels whichever step waits (on Kafka, memcached, a store): the user asked it to stop, so it ends as a
/// stop after start-up does, exit 0, rather than as a failure with no message. A failure ends as the other commands'
/// do: what failed and the next step on stderr, and a documented exit code, never a bare stack trace.
/// </summary>
internal static class Serving
{
    private const string CheckKafka = $"Check --bootstrap-servers (or {WalEnvironment.BootstrapServers}) and that the cluster is up, then start again.";

    public static void SetServingAction(this Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            try
            {
                return await action(parse, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The action's disposals have run by now: what it had started is stopped.
                await error.WriteLineAsync("stopped while starting: Ctrl-C or SIGTERM came before it was running; what it had started is stopped.");
                return ExitCodes.Ok;
            }
            catch (Exception e) when (Explain(e, parse) is { } failure)
            {
                await error.WriteLineAsync($"error: {failure.Message}");
                await error.WriteLineAsync($"next: {failure.NextStep}");
                return failure.ExitCode;
            }
            catch (Exception e)
            {
                // Nothing known: the trace is what diagnoses it, so it goes where the log goes, and stderr stays two lines.
                await parse.InvocationConfiguration.Output.WriteLineAsync(e.ToString());
                await error.WriteLineAsync($"error: '{CommandName(parse)}' failed unexpectedly: {e.GetType().Name}: {e.Message}");
                await error.WriteLineAsync("next: the full exception is in the log above; run the command again, and report it if it recurs.");
                return ExitCodes.Failed;
            }
        });

    private static CliException? Explain(Exception e, ParseResult parse) => e switch
    {
        CliException known => known,
        NamespaceConfigException config => new(
            ExitCodes.Usage, config.Message, $"Fix the namespace file (--namespaces, or {WalEnvironment.NamespacesFile}) and start again."),
        // The ingress's own check of its settings, each error naming the setting: ports that clash, a TLS file missing.
        OptionsValidationException options => new(
            ExitCodes.Usage, options.Message, $"Fix the options behind those settings ('{CommandName(parse)} --help' names them) and start again."),
        // Two instances on one machine left to the default --state-dir.
        StateDirectoryLockedException locked => new(
            ExitCodes.Failed, locked.Message, $"Give each instance on a machine its own --state-dir (or {WalEnvironment.StateDir}), or stop the one using it, and start again."),
        TimeoutException when KafkaNamed(parse) is { } kafka => new(ExitCodes.Failed, $"Kafka at {kafka} did not answer in time ({e.Message})", CheckKafka),
        // Kafka answered and refused (an ACL, a create policy, a broker before 2.4 asked for its default replication
        // factor): its reason per topic, where checking the bootstrap servers, which answered, would not help.
        CreateTopicsException refused when KafkaNamed(parse) is { } kafka => new(
            ExitCodes.Failed,
            $"Kafka at {kafka} refused to create topics: "
                + string.Join("; ", refused.Results.Where(r => r.Error.Code is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
                    .Select(r => $"'{r.Topic}': {r.Error.Reason} ({r.Error.Code})")),
            "Create them (or let Wal's principal create them) and start again; with the topics made beforehand, --no-create-topics only checks that they exist."),
        KafkaException when KafkaNamed(parse) is { } kafka => new(ExitCodes.Failed, $"Kafka at {kafka}: {e.Message}", CheckKafka),
        _ => null,
    };

    // The embedded Kafka of 'wal up' has no address to check: its failures are unexpected ones.
    private static string? KafkaNamed(ParseResult parse) =>
        parse.CommandResult.Command.Options.Contains(SharedOptions.BootstrapServers) ? parse.GetValue(SharedOptions.BootstrapServers) : null;

    private static string CommandName(ParseResult parse) => $"wal {parse.CommandResult.Command.Name}";
}
