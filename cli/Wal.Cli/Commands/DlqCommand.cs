using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Wal.Cli.Operations;

namespace Wal.Cli.Commands;

/// <summary><c>wal dlq list | show | redrive</c>: inspect a namespace's dead letters and put them back.</summary>
internal static class DlqCommand
{
    public static Command Create()
    {
        var command = new Command("dlq", "Inspect and redrive a namespace's dead letters (records that ran out of retries or failed permanently).")
        {
            List(), Show(), Redrive(),
        };
        command.Options.Add(CommonOptions.Output);
        return command;
    }

    internal static Option<string> NamespaceOption() => new("--namespace", "-n") { Description = "The namespace.", Required = true };

    private static Command List()
    {
        var ns = NamespaceOption();
        var command = new Command("list", "Count a namespace's dead letters and list them: id, reason, attempts, error, failed-at.") { ns, SharedOptions.BootstrapServers };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var letters = await ReadAllAsync(parse, ns, cancellationToken);
            if (terminal.IsJson)
            {
                terminal.WriteJson(new JsonObject { ["count"] = letters.Count, ["deadLetters"] = new JsonArray([.. letters.Select(Summary)]) });
                return ExitCodes.Ok;
            }

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"{letters.Count} dead letter(s)");
            if (letters.Count > 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{"ID",-36} {"REASON",-10} {"ATTEMPTS",8}  {"FAILED AT",-20}  ERROR");
                foreach (var l in letters)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"{l.Id,-36} {l.Reason,-10} {l.Attempts,8}  {l.FailedAt?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),-20}  {l.Error}");
                }
            }

            await terminal.Out.WriteAsync(text.ToString());
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var ns = NamespaceOption();
        var id = new Argument<string>("id") { Description = "The dead letter's entry id (from 'wal dlq list')." };
        var command = new Command("show", "Show one dead letter: its headers and the original log entry.") { ns, id, SharedOptions.BootstrapServers };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var wanted = parse.GetValue(id)!;
            var matches = (await ReadAllAsync(parse, ns, cancellationToken)).Where(l => l.Id == wanted).ToList();
            if (matches.Count == 0)
            {
                throw new CliException(ExitCodes.Failed, $"no dead letter with id '{wanted}' in namespace '{parse.GetValue(ns)}'",
                    $"Run 'wal dlq list --namespace {parse.GetValue(ns)}' to see the ids.");
            }

            // An id can fail more than once (after a redrive); show every time, oldest first.
            var nodes = new JsonArray([.. matches.Select(Detail)]);
            await terminal.Out.WriteLineAsync(Terminal.Json(terminal.IsJson || matches.Count > 1 ? nodes : nodes[0]!));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Redrive()
    {
        var ns = NamespaceOption();
        var filter = new Option<string?>("--filter")
        {
            Description = "Only these dead letters: reason=REASON (permanent, retriable, expired, late or beyond_count), error=ERROR (the whole "
                + "error), error~TEXT (a substring of it), id=ID (id~TEXT: a substring). Reasons and errors match in any case, ids "
                + "exactly. Each filter keeps its own position.",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Write nothing and commit nothing; print what would be re-enqueued." };
        var command = new Command(
            "redrive",
            "Re-enqueue dead letters into the namespace's topic, committing the DLQ position only after each is durably acknowledged. Interrupted? Run it again: it resumes.")
        {
            ns, filter, dryRun, SharedOptions.BootstrapServers,
        };
        filter.Validators.Add(r =>
        {
            if (DeadLetterFilter.Parse(r.GetValueOrDefault<string?>(), out var error) is null)
            {
                r.AddError(error!);
            }
        });
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var config = await NamespaceDirectory.RequireAsync(bootstrap, parse.GetValue(ns)!, cancellationToken);
            var dry = parse.GetValue(dryRun);
            var result = await new DeadLetterRedriver(bootstrap).RedriveAsync(
                config, DeadLetterFilter.Parse(parse.GetValue(filter), out _)!, dry, new Progress(terminal, dry ? "redrive (dry run)" : "redrive"), null, cancellationToken);
            Report(terminal, config.Topic, dry, result);
            // A script must not take "some were skipped" for "all were redriven": the position moved past them.
            return result.Skipped.Count == 0 ? ExitCodes.Ok : ExitCodes.Skipped;
        });
        return command;
    }

    private static void Report(Terminal terminal, string topic, bool dry, RedriveResult result)
    {
        if (terminal.IsJson)
        {
            terminal.WriteJson(new JsonObject
            {
                ["dryRun"] = dry,
                ["group"] = result.Group,
                ["read"] = result.Read,
                ["redriven"] = result.Redriven,
                ["unreadable"] = result.Unreadable,
                ["ids"] = new JsonArray([.. result.Matched.Select(m => (JsonNode)m.Id)]),
                ["joined"] = new JsonArray([.. result.Joined.Select(j => (JsonNode)new JsonObject { ["id"] = j.Letter.Id, ["partition"] = j.Letter.Partition, ["offset"] = j.Letter.Offset, ["as"] = j.RedrivenAs })]),
                ["skipped"] = new JsonArray([.. result.Skipped.Select(s => (JsonNode)new JsonObject { ["id"] = s.Letter.Id, ["partition"] = s.Letter.Partition, ["offset"] = s.Letter.Offset, ["why"] = s.Why })]),
                ["positionPastEnd"] = new JsonArray([.. result.PastEnd.Select(p => (JsonNode)new JsonObject { ["partition"] = p.Partition, ["committed"] = p.Committed, ["end"] = p.End })]),
                ["deletedByRetention"] = new JsonArray([.. result.Deleted.Select(d => (JsonNode)new JsonObject { ["partition"] = d.Partition, ["from"] = d.From, ["to"] = d.To })]),
            });
            return;
        }

        foreach (var d in result.Deleted)
        {
            terminal.Error.WriteLine(
                $"warning: dlq partition {d.Partition}: retention deleted the dead letters at offsets {d.From} to {d.To - 1} before this redrive's group read them; they cannot be re-enqueued.");
        }

        foreach (var p in result.PastEnd)
        {
            terminal.Out.WriteLine(
                $"dlq partition {p.Partition}: group {result.Group}'s position {p.Committed} is past its end {p.End} (the topic was recreated or truncated); read from its start.");
        }

        foreach (var m in result.Matched)
        {
            var what = m.Mutation is null ? m.Id
                : result.ReassembledAs.TryGetValue(m, out var redrivenAs) ? $"mutation {m.Id} (whole, from its dead letters of reasons expired and late) as {redrivenAs}"
                : $"mutation {m.Id} (part {m.Part}) as {MutationRedrive.RequestIdFor(m)}";
            terminal.Out.WriteLine($"{(dry ? "would re-enqueue" : "re-enqueued")} {what} (dlq {m.Partition}@{m.Offset}, {m.Reason}: {m.Error}) -> {topic}");
        }

        foreach (var (letter, redrivenAs) in result.Joined)
        {
            terminal.Out.WriteLine($"{(dry ? "would join" : "joined")} {letter.Id} (dlq {letter.Partition}@{letter.Offset}, {letter.Reason}) to {redrivenAs}, re-enqueued above");
        }

        foreach (var (letter, why) in result.Skipped)
        {
            terminal.Out.WriteLine($"{(dry ? "would skip" : "skipped")} {letter.Id} (dlq {letter.Partition}@{letter.Offset}): {why}");
        }

        terminal.Out.WriteLine(dry
            ? $"dry run: {result.Matched.Count} of {result.Read} unprocessed dead letter(s) would be re-enqueued; nothing was written or committed."
            : $"re-enqueued {result.Redriven} of {result.Read} dead letter(s) read; position committed in group {result.Group}.");
        if (result.Skipped.Count > 0)
        {
            terminal.Out.WriteLine(dry
                ? $"{result.Skipped.Count} matching dead letter(s) would be skipped, each for the reason listed above. Inspect them with 'wal dlq show'."
                : $"{result.Skipped.Count} matching dead letter(s) were skipped, each for the reason listed above, and not re-enqueued. "
                  + "The position is past them, so running the redrive again does not retry them; they stay in the DLQ: inspect them with 'wal dlq show'.");
        }
    }

    private static async Task<List<DeadLetter>> ReadAllAsync(ParseResult parse, Option<string> ns, CancellationToken cancellationToken)
    {
        var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
        var config = await NamespaceDirectory.RequireAsync(bootstrap, parse.GetValue(ns)!, cancellationToken);
        var partitions = KafkaTopics.Partitions(bootstrap, config.DeadLetterTopic);
        using var consumer = KafkaTopics.Consumer(bootstrap, $"wal-dlq-inspect-{Guid.NewGuid():N}");
        var starts = partitions.ToDictionary(p => p, p => KafkaTopics.Watermarks(consumer, p).Low.Value);
        return [.. KafkaTopics.Scan(consumer, starts, KafkaTopics.Ends(consumer, partitions), cancellationToken).Select(DeadLetter.From)];
    }

    private static JsonObject Summary(DeadLetter l) => new()
    {
        ["id"] = l.Id,
        ["reason"] = l.Reason,
        ["attempts"] = l.Attempts,
        ["error"] = l.Error,
        ["failedAt"] = l.FailedAt?.ToString("O", CultureInfo.InvariantCulture),
        ["partition"] = l.Partition,
        ["offset"] = l.Offset,
    };

    private static JsonObject Detail(DeadLetter l)
    {
        var node = Summary(l);
        node["source"] = l.Source;
        node["entry"] = l.Entry is null ? null : Terminal.ToJson(l.Entry);
        if (l.Part is not null)
        {
            node["part"] = l.Part;
            node["mutation"] = l.Mutation is null ? null : Terminal.ToJson(l.Mutation);
        }

        return node;
    }
}
