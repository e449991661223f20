using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Wal.Cli.Operations;
using Wal.Schemas.V1;
using Wal.Topology;
using Wal.Topology.Replication;

namespace Wal.Cli.Commands;

/// <summary>
/// <c>wal status</c>: per namespace, how far behind the topology is, how many timers wait and how
/// many dead letters; per replicating namespace and region, how far behind its replicator is; per instance of the
/// group, its partitions and their lag.
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
            + "Per replicating namespace and region: the records of the namespace's topic its replicator to that region has not "
            + "yet passed ('-' where no replicator here has committed any: the local region, or one not started). "
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
            var replication = new List<ReplicationStatus>();
            foreach (var ns in namespaces)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Committed() only fetches offsets; it does not join the group or disturb its members.
                var partitions = KafkaTopics.Partitions(bootstrap, ns.Topic);
                var committed = KafkaTopics.CommittedOrStart(consumer, partitions);
                var marks = partitions.ToDictionary(p => p, p => KafkaTopics.Watermarks(consumer, p));
                foreach (var p in partitions)
                {
                    lags[p] = marks[p].High.Value - committed[p];
                }

                if (ns.Personas.Contains(Persona.CrossRegionReplication))
                {
                    replication.AddRange(ns.Regions.Select(r => new ReplicationStatus(ns.Name, r.Name, ReplicationLag(bootstrap, ns.Name, r.Name, marks))));
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
            Write(terminal, groupId, rows, replication, instances, unavailable);
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

    // The records of the topic the replicator to the region has not passed yet, from the offsets its group committed (the
    // first one left where a partition has none); null when its group committed nothing here.
    private static long? ReplicationLag(string bootstrap, string @namespace, string region, Dictionary<TopicPartition, WatermarkOffsets> marks)
    {
        using var replicator = KafkaTopics.Consumer(bootstrap, RegionReplicatorOptions.GroupIdOf(@namespace, region));
        var committed = KafkaTopics.Committed(replicator, [.. marks.Keys]);
        return committed.Count == 0
            ? null
            : marks.Sum(m => m.Value.High.Value - Math.Max(committed.GetValueOrDefault(m.Key, -1), m.Value.Low.Value));
    }

    private static void Write(
        Terminal terminal, string groupId, List<NamespaceStatus> rows, List<ReplicationStatus> replication, List<InstanceStatus>? instances, string? unavailable)
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
                ["replication"] = new JsonArray([.. replication.Select(r => (JsonNode)new JsonObject
                {
                    ["namespace"] = r.Namespace,
                    ["region"] = r.Region,
                    ["lag"] = r.Lag,
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

        if (replication.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{"REPLICATING",-24} {"TO REGION",-16} {"LAG",10}");
            foreach (var r in replication)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{r.Namespace,-24} {r.Region,-16} {Count(r.Lag),10}");
            }
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

    private sealed record ReplicationStatus(string Namespace, string Region, long? Lag);
}
