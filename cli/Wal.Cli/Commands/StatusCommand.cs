using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Wal.Cli.Operations;
using Wal.Topology;

namespace Wal.Cli.Commands;

/// <summary>
/// <c>wal status</c>: per namespace, how far behind the topology is, how many timers wait and how
/// many dead letters; per instance of the group, its partitions and their lag.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var group = new Option<string>("--group")
        {
            Description = "The topology's consumer group (its application id); also the prefix of its changelog topics.",
            DefaultValueFactory = _ => SharedOptions.DefaultApplicationId,
        };
        var noTimers = new Option<bool>("--no-timers")
        {
            Description = "Do not count pending timers (that reads each namespace's timer-store changelog to its end).",
        };
        var command = new Command(
            "status",
            "Per namespace: consumer lag of the topology's group, pending timers (delayed and retrying deliveries, and those "
            + "waiting behind a retry of their Kafka record key, as of the topology's last commit) and dead-letter depth. "
            + "Per instance: its assigned partitions and their lag (needs a "
            + "cluster that answers DescribeGroups; the embedded one of 'wal up' does not).")
        {
            group, noTimers, SharedOptions.BootstrapServers, CommonOptions.Output,
        };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var groupId = parse.GetValue(group)!;
            var namespaces = await NamespaceDirectory.LoadAsync(bootstrap, cancellationToken);
            using var consumer = KafkaTopics.Consumer(bootstrap, groupId);
            var lags = new Dictionary<TopicPartition, long>();
            var rows = new List<NamespaceStatus>();
            foreach (var ns in namespaces)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Committed() only fetches offsets; it does not join the group or disturb its members.
                var partitions = KafkaTopics.Partitions(bootstrap, ns.Topic);
                var committed = KafkaTopics.CommittedOrStart(consumer, partitions);
                foreach (var p in partitions)
                {
                    lags[p] = KafkaTopics.Watermarks(consumer, p).High.Value - committed[p];
                }

                var dlq = KafkaTopics.Partitions(bootstrap, ns.DeadLetterTopic).Sum(p =>
                {
                    var marks = KafkaTopics.Watermarks(consumer, p);
                    return marks.High.Value - marks.Low.Value;
                });
                var timers = parse.GetValue(noTimers) ? null : CountTimers(terminal, bootstrap, groupId, ns.Name, cancellationToken);
                rows.Add(new NamespaceStatus(ns.Name, partitions.Sum(p => lags[p]), timers, dlq));
            }

            var members = GroupMember.Describe(bootstrap, groupId, out var unavailable);
            var instances = members?.Select(m => new InstanceStatus(m, m.Partitions.Sum(p => lags.GetValueOrDefault(p)))).ToList();
            Write(terminal, groupId, rows, instances, unavailable);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static PendingTimers? CountTimers(Terminal terminal, string bootstrap, string groupId, string ns, CancellationToken cancellationToken)
    {
        var progress = new Progress(terminal, $"status: reading {ns}'s timer changelog", "records", done: null, quietIfQuick: true);
        var counted = PendingTimers.Count(bootstrap, $"{groupId}-{WalTopology.TimerStoreName(ns)}-changelog", progress, cancellationToken);
        progress.Finish();
        return counted;
    }

    private static void Write(Terminal terminal, string groupId, List<NamespaceStatus> rows, List<InstanceStatus>? instances, string? unavailable)
    {
        if (terminal.IsJson)
        {
            terminal.WriteJson(new JsonObject
            {
                ["group"] = groupId,
                ["namespaces"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
                {
                    ["name"] = r.Name,
                    ["lag"] = r.Lag,
                    ["timers"] = r.Timers is { } t ? new JsonObject { ["total"] = t.Total, ["delayed"] = t.Delayed, ["retrying"] = t.Retrying, ["waiting"] = t.Waiting } : null,
                    ["dlqDepth"] = r.Dlq,
                })]),
                ["instances"] = instances is null ? null : new JsonArray([.. instances.Select(i => (JsonNode)new JsonObject
                {
                    ["memberId"] = i.Member.MemberId,
                    ["clientId"] = i.Member.ClientId,
                    ["host"] = i.Member.Host,
                    ["partitions"] = new JsonArray([.. i.Member.Partitions.Select(p => (JsonNode)$"{p.Topic}/{p.Partition.Value}")]),
                    ["lag"] = i.Lag,
                })]),
                ["instancesUnavailable"] = unavailable,
            });
            return;
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"group {groupId}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"NAMESPACE",-24} {"LAG",10} {"TIMERS",10} {"DELAYED",10} {"RETRYING",10} {"WAITING",10} {"DLQ",10}");
        foreach (var r in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Name,-24} {r.Lag,10} {Count(r.Timers?.Total),10} {Count(r.Timers?.Delayed),10} {Count(r.Timers?.Retrying),10} {Count(r.Timers?.Waiting),10} {r.Dlq,10}");
        }

        if (instances is null)
        {
            text.Append(CultureInfo.InvariantCulture, $"instances: not shown: {unavailable}.");
        }
        else
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{"INSTANCE",-48} {"PARTITIONS",10} {"LAG",10}");
            foreach (var i in instances)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{$"{i.Member.ClientId}@{i.Member.Host}",-48} {i.Member.Partitions.Count,10} {i.Lag,10}");
                text.AppendLine(CultureInfo.InvariantCulture, $"  {string.Join(", ", i.Member.Partitions.Select(p => $"{p.Topic}/{p.Partition.Value}"))}");
            }

            text.Append(CultureInfo.InvariantCulture, $"{instances.Count} instance(s)");
        }

        terminal.Out.WriteLine(text.ToString());
    }

    private static string Count(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private sealed record NamespaceStatus(string Name, long Lag, PendingTimers? Timers, long Dlq);

    private sealed record InstanceStatus(GroupMember Member, long Lag);
}
