using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Wal.Cli.Operations;

namespace Wal.Cli.Commands;

/// <summary><c>wal status</c>: how far behind the topology is, and how many dead letters wait, per namespace.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var group = new Option<string>("--group")
        {
            Description = "The topology's consumer group (its application id).",
            DefaultValueFactory = _ => SharedOptions.DefaultApplicationId,
        };
        var command = new Command("status", "Per namespace: consumer lag of the topology's group and dead-letter depth.")
        {
            group, SharedOptions.BootstrapServers, CommonOptions.Output,
        };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var groupId = parse.GetValue(group)!;
            var namespaces = await NamespaceDirectory.LoadAsync(bootstrap, cancellationToken);
            using var consumer = KafkaTopics.Consumer(bootstrap, groupId);
            var rows = new List<(string Name, long Lag, long Dlq)>();
            foreach (var ns in namespaces)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Committed() only fetches offsets; it does not join the group or disturb its members.
                var partitions = KafkaTopics.Partitions(bootstrap, ns.Topic);
                var committed = KafkaTopics.CommittedOrStart(consumer, partitions);
                var lag = partitions.Sum(p => KafkaTopics.Watermarks(consumer, p).High.Value - committed[p]);
                var dlq = KafkaTopics.Partitions(bootstrap, ns.DeadLetterTopic).Sum(p =>
                {
                    var marks = KafkaTopics.Watermarks(consumer, p);
                    return marks.High.Value - marks.Low.Value;
                });
                rows.Add((ns.Name, lag, dlq));
            }

            Write(terminal, groupId, rows);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Write(Terminal terminal, string groupId, List<(string Name, long Lag, long Dlq)> rows)
    {
        const string TimersNote = "pending timers are not counted: that needs reading each timer-store changelog in full";
        if (terminal.IsJson)
        {
            terminal.WriteJson(new JsonObject
            {
                ["group"] = groupId,
                ["namespaces"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject { ["name"] = r.Name, ["lag"] = r.Lag, ["dlqDepth"] = r.Dlq })]),
                ["note"] = TimersNote,
            });
            return;
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"group {groupId}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"NAMESPACE",-24} {"LAG",10} {"DLQ",10}");
        foreach (var (name, lag, dlq) in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{name,-24} {lag,10} {dlq,10}");
        }

        text.Append("note: ").Append(TimersNote).Append('.');
        terminal.Out.WriteLine(text.ToString());
    }
}
