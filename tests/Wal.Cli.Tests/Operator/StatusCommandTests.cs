using System.Diagnostics;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Schemas.V1;
using Wal.Topology.Delay;
using Wal.Topology.State;

namespace Wal.Cli.Tests.Operator;

[Collection(OperatorCollection.Name)]
public sealed class StatusCommandTests(OperatorStackFixture stack)
{
    [Fact]
    public async Task Status_RunningTopology_CountsDelayedTimersAndLagReachesZero()
    {
        var before = await DemoAsync();
        var baseline = before["timers"]!["delayed"]!.GetValue<int>();
        foreach (var key in new[] { "later-1", "later-2" })
        {
            var write = await OperatorStackFixture.RunAsync("write", "demo", "--memcached-key", $"{key}-{Guid.NewGuid():N}", "--value", "x", "--delay", "1h", "--address", stack.Address);
            Assert.True(write.Exit == 0, write.ToString());
        }

        JsonNode demo = before;
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        while (demo["timers"]!["delayed"]!.GetValue<int>() != baseline + 2 || demo["lag"]!.GetValue<int>() != 0)
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"status never showed {baseline + 2} delayed timers and no lag: {demo.ToJsonString()}");
            await Task.Delay(200);
            demo = await DemoAsync();
        }

        Assert.Equal(0, demo["timers"]!["retrying"]!.GetValue<int>());
        Assert.Equal(baseline + 2, demo["timers"]!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Status_MockCluster_SaysWhyInstancesAreNotShown()
    {
        var json = await OperatorStackFixture.RunAsync("status", "--bootstrap-servers", stack.Bootstrap, "--no-timers", "-o", "json");
        var text = await OperatorStackFixture.RunAsync("status", "--bootstrap-servers", stack.Bootstrap, "--no-timers");

        Assert.True(json.Exit == 0, json.ToString());
        var result = JsonNode.Parse(json.Out)!;
        Assert.Null(result["instances"]);
        Assert.Contains("DescribeGroups", result["instancesUnavailable"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(result["namespaces"]![0]!["timers"]);
        Assert.Contains("instances: not shown: this Kafka cluster does not answer DescribeGroups", text.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("not counted", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void PendingTimers_PutsAndTombstones_CountsLastValuePerKey()
    {
        var topic = $"timers-{Guid.NewGuid():N}-changelog";
        stack.Stack.Kafka.CreateTopic(topic, partitions: 2);
        using (var producer = new ProducerBuilder<byte[], byte[]?>(new ProducerConfig { BootstrapServers = stack.Bootstrap }).Build())
        {
            void Send(int partition, string id, int? attempts) => producer.Produce(
                new TopicPartition(topic, partition),
                new Message<byte[], byte[]?> { Key = DueKey.Encode(1_000, id), Value = attempts is { } a ? new PendingDelivery { Attempts = a }.ToByteArray() : null });
            Send(0, "gone", 0);
            Send(0, "delayed", 0);
            Send(1, "retry", 0);
            Send(1, "retry", 2);     // the same timer, now a retry
            Send(0, "gone", null);   // fired
            Send(1, "delayed-2", 0);
            // A Kafka record key held behind a retry, and two entries waiting behind it, one of them let go since.
            var hold = HoldKey.Of(new LogEntry { Target = new Target { Kafka = new KafkaTarget { Topic = "out", Key = ByteString.CopyFromUtf8("k") } } })!;
            void Wait(long sequence, bool gone) => producer.Produce(
                new TopicPartition(topic, 0),
                new Message<byte[], byte[]?> { Key = HoldKey.Waiting(hold, sequence), Value = gone ? null : new PendingDelivery().ToByteArray() });
            producer.Produce(new TopicPartition(topic, 0), new Message<byte[], byte[]?> { Key = hold, Value = new KeyHold { Head = ByteString.CopyFromUtf8("x"), NextWaiting = 2 }.ToByteArray() });
            Wait(0, gone: false);
            Wait(1, gone: false);
            Wait(0, gone: true);
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var counted = PendingTimers.Count(stack.Bootstrap, topic, null, CancellationToken.None);

        Assert.Equal(10, counted.Read);
        Assert.Equal(2, counted.Delayed);
        Assert.Equal(1, counted.Retrying);
        Assert.Equal(1, counted.Waiting);
    }

    private async Task<JsonNode> DemoAsync()
    {
        var run = await OperatorStackFixture.RunAsync("status", "--bootstrap-servers", stack.Bootstrap, "-o", "json");
        Assert.True(run.Exit == 0, run.ToString());
        return JsonNode.Parse(run.Out)!["namespaces"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == "demo")!;
    }
}
