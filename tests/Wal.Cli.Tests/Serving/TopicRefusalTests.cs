using System.CommandLine;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Wal.Cli.Commands;

namespace Wal.Cli.Tests.Serving;

/// <summary>
/// A serving command whose topics Kafka refuses to create (an ACL, a create policy, a broker too old for the brokers'
/// default replication factor) says which topics and Kafka's reason, not to check the bootstrap servers, which answered.
/// The mock cluster has no CreateTopics, so the command here throws what topic creation throws on such a refusal.
/// </summary>
public sealed class TopicRefusalTests
{
    [Fact]
    public async Task ServingCommand_KafkaRefusesToCreateTopics_ExitsFailedNamingEachRefusedTopicAndKafkasReason()
    {
        var command = new Command("serve-something") { SharedOptions.BootstrapServers };
        command.SetServingAction((_, _) => throw new CreateTopicsException(
        [
            new CreateTopicReport { Topic = "wal.orders", Error = new Error(ErrorCode.TopicAuthorizationFailed, "Authorization failed.") },
            new CreateTopicReport { Topic = "wal.orders.dlq", Error = new Error(ErrorCode.TopicAlreadyExists, "Topic 'wal.orders.dlq' already exists.") },
            new CreateTopicReport { Topic = "wal.namespaces", Error = new Error(ErrorCode.NoError) },
        ]));
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await new RootCommand { command }.Parse(["serve-something", "--bootstrap-servers", "kafka-1:9092"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{error}");
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: Kafka at kafka-1:9092 refused to create topics: 'wal.orders': Authorization failed. (TopicAuthorizationFailed)", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("wal.orders.dlq", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("wal.namespaces", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("next: Create them (or let Wal's principal create them)", lines[1], StringComparison.Ordinal);
    }
}
