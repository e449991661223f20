using System.Text;
using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams.TestDriver;

namespace Wal.Streams.Tests;

public sealed class DeserializationHandlingTests
{
    private static readonly byte[] Garbage = [1, 2, 3];

    [Fact]
    public void LogAndContinue_BadRecord_GoesToDeadLetterWithErrorHeadersAndProcessingGoesOn()
    {
        using var driver = new TopologyTestDriver(Int32Topology(), DriverConfig(DeserializationExceptionHandling.LogAndContinue));
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.ByteArray);

        input.PipeInput("good-1", Int(1));
        input.PipeInput("bad", Garbage);
        input.PipeInput("good-2", Int(2));

        Assert.Equal([1, 2], driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int32).ReadValuesToList());
        var dead = driver.CreateOutputTopic("app-dead-letter", Deserializers.Utf8, Deserializers.ByteArray).ReadRecord();
        Assert.Equal("bad", dead.Key);
        Assert.Equal(Garbage, dead.Value);
        Assert.Equal("in", Header(dead.Headers, DeadLetterHeaders.Topic));
        Assert.Equal("1", Header(dead.Headers, DeadLetterHeaders.Offset));
        Assert.NotEmpty(Header(dead.Headers, DeadLetterHeaders.ExceptionMessage));
    }

    [Fact]
    public void LogAndFail_BadRecord_ThrowsRecordDeserializationException()
    {
        using var driver = new TopologyTestDriver(Int32Topology(), DriverConfig(DeserializationExceptionHandling.LogAndFail));
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.ByteArray);

        var error = Assert.Throws<RecordDeserializationException>(() => input.PipeInput("bad", Garbage));

        Assert.Equal("in", error.Topic);
        Assert.Equal(0, error.Offset);
        Assert.True(driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int32).IsEmpty);
    }

    [Fact]
    public async Task KafkaStreams_LogAndContinue_DeadLettersAndCommitsPastTheBadRecord()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in");
        cluster.CreateTopic("out");
        cluster.CreateTopic("bad-input");
        var config = KafkaTestKit.Config(cluster, "dlq-app") with
        {
            DeserializationExceptionHandling = DeserializationExceptionHandling.LogAndContinue,
            DeadLetterTopic = "bad-input",
        };
        await ProduceRawAsync(cluster, Int(7), Garbage, Int(8));
        await using var streams = new KafkaStreams(Int32Topology(), config);

        await streams.StartAsync();
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int32, r => r.Count >= 2);
        var dead = await KafkaTestKit.ReadUntilAsync(cluster, "bad-input", Deserializers.Utf8, Deserializers.ByteArray, r => r.Count >= 1);
        await streams.CloseAsync();

        Assert.Equal([7, 8], output.Select(r => r.Message.Value));
        Assert.Equal(Garbage, Assert.Single(dead).Message.Value);
        Assert.Equal(3, KafkaTestKit.CommittedOffsetSum(cluster, "dlq-app", "in", 1));
    }

    [Fact]
    public async Task KafkaStreams_LogAndFail_StopsInErrorWithoutCommittingTheBadRecord()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in");
        cluster.CreateTopic("out");
        await ProduceRawAsync(cluster, Int(7));
        await using var streams = new KafkaStreams(Int32Topology(), KafkaTestKit.Config(cluster, "fail-app"));
        await streams.StartAsync();
        // The bad record comes once the thread is consuming steadily. With it first in the topic,
        // the thread failed and closed its consumer within moments of its first assignment, and on
        // a rare run librdkafka 2.0.2 aborted the test host on an assertion in its assignment
        // teardown (rd_kafka_assignment_partition_stopped: a race reported upstream as librdkafka
        // issue 5573 and fixed after 2.15). What this test checks does not need that timing; the
        // product's exposure to the race is noted in docs/streams-runtime.md.
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int32, r => r.Count >= 1);

        await ProduceRawAsync(cluster, Garbage, Int(8));
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Error, "the Error state");

        var error = Assert.IsType<RecordDeserializationException>(streams.FatalError);
        Assert.Equal(1, error.Offset);
        await streams.CloseAsync();
        Assert.True(KafkaTestKit.CommittedOffsetSum(cluster, "fail-app", "in", 1) <= 1);
    }

    private static Topology Int32Topology() =>
        new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Int32, "in")
            .AddSink("sink", "out", Serializers.Utf8, Serializers.Int32, "source")
            .Build();

    private static StreamsConfig DriverConfig(DeserializationExceptionHandling handling) => new()
    {
        ApplicationId = "app",
        BootstrapServers = "unused:9092",
        StateDirectory = Path.Combine(Path.GetTempPath(), "wal-streams-tests", Guid.NewGuid().ToString("N")),
        DeserializationExceptionHandling = handling,
    };

    private static async Task ProduceRawAsync(EmbeddedKafkaCluster cluster, params byte[][] values)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var i = 0;
        foreach (var value in values)
        {
            await producer.ProduceAsync("in", new Message<string, byte[]> { Key = $"k{i++}", Value = value });
        }
    }

    private static byte[] Int(int value) => Serializers.Int32.Serialize(value, default);

    private static string Header(Headers headers, string name) => Encoding.UTF8.GetString(headers.GetLastBytes(name));
}
