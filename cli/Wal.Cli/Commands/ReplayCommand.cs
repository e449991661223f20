using System.CommandLine;
using System.Text.Json.Nodes;
using Wal.Cli.Operations;

namespace Wal.Cli.Commands;

/// <summary><c>wal replay</c>: re-apply a range of a namespace's log to its targets, e.g. after a restore.</summary>
internal static partial class ReplayCommand
{
    public static Command Create()
    {
        var ns = DlqCommand.NamespaceOption();
        var from = new Option<LogPosition>("--from")
        {
            Description = "Where to start: an ISO-8601 time (2026-11-22T02:00:00Z), an offset for every partition (120), or 0:120,1:88 (only the partitions named).",
            Required = true,
            CustomParser = ParsePosition,
        };
        var to = new Option<LogPosition?>("--to")
        {
            Description = "Where to stop (exclusive), in the same forms; default: the end of the log when the replay starts.",
            CustomParser = ParsePosition,
        };
        var exclude = new Option<string[]>("--exclude")
        {
            Description = "Entry ids or mutation request ids to skip (comma-separated or repeated), e.g. the bad mutation that corrupted the store; a request id also skips the copies replays and redrives wrote of it. Ids that match nothing are named.",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))],
        };
        var target = new Option<ReplayTarget?>("--target")
        {
            Description = "Re-apply to this target instead of each entry's own: memcached:CLUSTER, cassandra:CLUSTER[/KEYSPACE.TABLE] "
                + "or kafka:CLUSTER[/TOPIC] (cluster names as in 'wal write --memcached-cluster'). Each entry's target is rewritten "
                + "(same key, TTL and version; only the cluster, and table or topic if given, change) and the rewritten entry is "
                + "produced to the log, so the topology applies it with its usual retries and dead letters; the topology must "
                + "know that cluster. Entries aimed at another kind of target, and mutation chunks and markers, are skipped and counted.",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
                var parsed = ReplayTarget.Parse(text, out var error);
                if (parsed is null)
                {
                    r.AddError(error!);
                }

                return parsed;
            },
        };
        var mutationSuffix = new Option<string?>("--mutation-suffix")
        {
            Description = "Only to resume an interrupted replay, as its message says: mutation chunks and markers go under request ids "
                + "ending with the interrupted run's suffix (.replay-STAMP), so a mutation the interruption cut completes.",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
                if (!ReplaySuffix().IsMatch(text))
                {
                    r.AddError($"--mutation-suffix '{text}' is not a replay's suffix: expected .replay- and digits, as an interrupted replay prints it");
                }

                return text;
            },
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Write nothing; print how many entries would be re-applied (and where)." };
        var command = new Command(
            "replay",
            "Re-apply a namespace's log from a time or offset: each entry is produced again with its id and version, so sinks keep the newest value.")
        {
            ns, from, to, exclude, target, mutationSuffix, dryRun, SharedOptions.BootstrapServers, CommonOptions.Output,
        };
        command.Validators.Add(r =>
        {
            if (r.GetResult(mutationSuffix) is not null && r.GetResult(target) is not null)
            {
                r.AddError("--mutation-suffix resumes a replay of mutations, which --target skips: give one or the other.");
            }
        });
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var config = await NamespaceDirectory.RequireAsync(bootstrap, parse.GetValue(ns)!, cancellationToken);
            var dry = parse.GetValue(dryRun);
            var excluded = (parse.GetValue(exclude) ?? []).ToHashSet(StringComparer.Ordinal);
            var retarget = parse.GetValue(target);
            var result = await new LogReplayer(bootstrap).ReplayAsync(
                config, parse.GetValue(from)!, parse.GetValue(to), excluded, retarget, dry, new Progress(terminal, dry ? "replay (dry run)" : "replay"), cancellationToken,
                mutationSuffix: parse.GetValue(mutationSuffix));
            if (terminal.IsJson)
            {
                var ranges = new JsonObject();
                foreach (var (partition, range) in result.Ranges)
                {
                    ranges[partition.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject { ["from"] = range.From, ["to"] = range.To };
                }

                terminal.WriteJson(new JsonObject
                {
                    ["dryRun"] = dry,
                    ["topic"] = config.Topic,
                    ["read"] = result.Read,
                    ["written"] = result.Written,
                    ["excluded"] = result.Excluded,
                    ["unreadable"] = result.Unreadable,
                    ["target"] = retarget?.Text,
                    ["otherKind"] = result.OtherKind,
                    ["ranges"] = ranges,
                    ["excludesNotFound"] = new JsonArray([.. result.ExcludesNotFound.Select(id => (JsonNode)id)]),
                    ["mutationRequestIdSuffix"] = result.MutationSuffix,
                    ["deletedByRetention"] = new JsonObject([.. result.Deleted.OrderBy(d => d.Key).Select(d => KeyValuePair.Create(
                        d.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)new JsonObject { ["from"] = d.Value.Asked, ["to"] = d.Value.Start }))]),
                });
            }
            else
            {
                var ranges = string.Join(", ", result.Ranges.Select(r => $"{r.Key}:[{r.Value.From},{r.Value.To})"));
                var where = retarget is null ? string.Empty : $" to {retarget.Text}";
                var other = result.OtherKind == 0 ? string.Empty : $", {result.OtherKind} not retargetable (another kind of target, or a mutation chunk or marker)";
                await terminal.Out.WriteLineAsync(dry
                    ? $"dry run: would re-apply {result.Applicable} of {result.Read} entries of {config.Topic}{where} ({ranges}), skipping {result.Excluded} excluded, {result.Unreadable} unreadable{other}; nothing was written."
                    : $"re-applied {result.Written} of {result.Read} entries of {config.Topic}{where} ({ranges}), skipped {result.Excluded} excluded, {result.Unreadable} unreadable{other}.");
                if (result.MutationSuffix is { } suffix)
                {
                    await terminal.Out.WriteLineAsync(
                        $"mutation chunks and markers {(dry ? "would go" : "went")} under request ids ending '{suffix}', so the topology applies them again; a mutation cut by the range's edges cannot complete and is dead-lettered at its expiry.");
                }
            }

            if (result.Deleted.Count > 0)
            {
                await terminal.Error.WriteLineAsync(
                    "warning: retention has deleted part of the range, which cannot be re-applied: "
                    + string.Join(", ", result.Deleted.OrderBy(d => d.Key).Select(d => $"partition {d.Key} from {d.Value.Asked} to {d.Value.Start - 1}"))
                    + ". The rest was read from each partition's first offset.");
            }

            if (result.ExcludesNotFound.Count > 0)
            {
                await terminal.Error.WriteLineAsync(
                    $"warning: --exclude matched no entry or mutation in the range: {string.Join(", ", result.ExcludesNotFound)}. Check the ids with --dry-run first.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\.replay-[0-9]{1,19}$")]
    private static partial System.Text.RegularExpressions.Regex ReplaySuffix();

    private static LogPosition ParsePosition(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        var position = LogPosition.Parse(text, out var error);
        if (position is null)
        {
            result.AddError(error!);
        }

        return position!;
    }
}
