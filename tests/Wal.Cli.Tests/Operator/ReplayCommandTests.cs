using System.Text.Json.Nodes;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Operator;

[Collection(OperatorCollection.Name)]
public sealed class ReplayCommandTests(OperatorStackFixture stack)
{
    [Fact]
    public async Task Replay_FromOffsetWithExclude_ReAppliesOthersUnchangedAndSkipsNamedId()
    {
        var ns = await stack.CreateNamespaceAsync();
        for (var i = 0; i < 4; i++)
        {
            await stack.ProduceEntryAsync(ns, OperatorStackFixture.Entry(ns, $"r-{i}", acceptedAtMs: 1_700_000_000_000 + i));
        }

        var run = await OperatorStackFixture.RunAsync(
            "replay", "--namespace", ns, "--from", "1", "--exclude", "r-2", "--bootstrap-servers", stack.Bootstrap, "--output", "json");

        Assert.True(run.Exit == 0, run.ToString());
        var result = JsonNode.Parse(run.Out)!;
        Assert.Equal(3, result["read"]!.GetValue<int>());
        Assert.Equal(1, result["excluded"]!.GetValue<int>());
        var replayed = stack.ReadTopic($"wal.{ns}").Skip(4).ToList();
        Assert.Equal(["r-1", "r-3"], replayed.Select(e => e.Id));
        Assert.Equal(OperatorStackFixture.Entry(ns, "r-3", 1_700_000_000_003), replayed[1]);
    }

    [Fact]
    public async Task Replay_DryRunFromTime_WritesNothingAndSaysWhatItWouldDo()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceEntryAsync(ns, OperatorStackFixture.Entry(ns, "t-1"));
        await stack.ProduceEntryAsync(ns, OperatorStackFixture.Entry(ns, "t-2"));

        var run = await OperatorStackFixture.RunAsync(
            "replay", "--namespace", ns, "--from", "2000-01-01T00:00:00Z", "--to", "0:1", "--dry-run", "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == 0, run.ToString());
        Assert.True(run.Out.Contains("dry run: would re-apply 1 of 1 entries", StringComparison.Ordinal), run.ToString());
        Assert.Equal(2, stack.ReadTopic($"wal.{ns}").Count);
    }

    [Fact]
    public async Task Replay_Target_RewritesClusterKeepsIdVersionAndKeySkipsOtherKinds()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceEntryAsync(ns, OperatorStackFixture.Entry(ns, "m-1", 1_700_000_000_001));
        var kafka = OperatorStackFixture.Entry(ns, "k-1");
        kafka.Target = new Target { Kafka = new KafkaTarget { Cluster = "elsewhere", Topic = "t" } };
        await stack.ProduceEntryAsync(ns, kafka);

        var run = await OperatorStackFixture.RunAsync(
            "replay", "--namespace", ns, "--from", "0", "--target", "memcached:restored", "--bootstrap-servers", stack.Bootstrap);

        Assert.True(run.Exit == 0, run.ToString());
        Assert.Contains("re-applied 1 of 2 entries", run.Out, StringComparison.Ordinal);
        Assert.Contains("to memcached:restored", run.Out, StringComparison.Ordinal);
        Assert.Contains("1 not retargetable", run.Out, StringComparison.Ordinal);
        var replayed = Assert.Single(stack.ReadTopic($"wal.{ns}").Skip(2));
        var expected = OperatorStackFixture.Entry(ns, "m-1", 1_700_000_000_001);
        expected.Target.Memcached.Cluster = "restored";
        Assert.Equal(expected, replayed);
    }

    [Fact]
    public async Task Replay_TargetDryRunJson_WritesNothingAndNamesTarget()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceEntryAsync(ns, OperatorStackFixture.Entry(ns, "d-1"));

        var run = await OperatorStackFixture.RunAsync(
            "replay", "--namespace", ns, "--from", "0", "--target", "memcached:local", "--dry-run", "--bootstrap-servers", stack.Bootstrap, "-o", "json");

        Assert.True(run.Exit == 0, run.ToString());
        var result = JsonNode.Parse(run.Out)!;
        Assert.Equal("memcached:local", result["target"]!.GetValue<string>());
        Assert.True(result["dryRun"]!.GetValue<bool>());
        Assert.Equal(0, result["written"]!.GetValue<int>());
        Assert.Equal(0, result["otherKind"]!.GetValue<int>());
        Assert.Single(stack.ReadTopic($"wal.{ns}"));
    }

    [Fact]
    public async Task Status_ShowsLagAndDlqDepthPerNamespace()
    {
        var ns = await stack.CreateNamespaceAsync();
        await stack.ProduceDeadLetterAsync(ns, "s-1", "permanent", "x");
        await stack.ProduceEntryAsync(ns, OperatorStackFixture.Entry(ns, "s-2"));

        var run = await OperatorStackFixture.RunAsync("status", "--bootstrap-servers", stack.Bootstrap, "--output", "json");

        Assert.True(run.Exit == 0, run.ToString());
        var row = JsonNode.Parse(run.Out)!["namespaces"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == ns)!;
        Assert.Equal(1, row["dlqDepth"]!.GetValue<int>());
        // No topology instance consumes a namespace created after it started: everything is lag.
        Assert.Equal(1, row["lag"]!.GetValue<int>());
    }
}
