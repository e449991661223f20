namespace Wal.Streams.Tests;

public sealed class StreamsConfigTests
{
    private static readonly StreamsConfig Valid = new() { ApplicationId = "app", BootstrapServers = "localhost:9092" };

    [Fact]
    public void Validate_ValidConfig_DoesNotThrow() => Valid.Validate();

    [Theory]
    [InlineData("ApplicationId")]
    [InlineData("BootstrapServers")]
    [InlineData("CommitInterval")]
    [InlineData("NumStreamThreads")]
    [InlineData("HeartbeatInterval")]
    [InlineData("DeadLetterTopic")]
    public void Validate_InvalidOption_NamesIt(string option)
    {
        var config = option switch
        {
            "ApplicationId" => Valid with { ApplicationId = "has space" },
            "BootstrapServers" => Valid with { BootstrapServers = "" },
            "CommitInterval" => Valid with { CommitInterval = TimeSpan.Zero },
            "NumStreamThreads" => Valid with { NumStreamThreads = 0 },
            "HeartbeatInterval" => Valid with { HeartbeatInterval = TimeSpan.FromMinutes(5) },
            "DeadLetterTopic" => Valid with { DeadLetterTopic = "bad/topic" },
            _ => throw new ArgumentOutOfRangeException(nameof(option)),
        };

        var error = Assert.Throws<StreamsConfigException>(config.Validate);

        Assert.Equal(option, error.Option);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Exactly-once restores and processes only committed records: read_uncommitted would bring aborted writes back.</summary>
    [Theory]
    [InlineData("AdditionalConsumerConfig")]
    [InlineData("AdditionalClientConfig")]
    public void Validate_ExactlyOnceWithReadUncommittedConsumers_NamesTheOption(string option)
    {
        var settings = new Dictionary<string, string> { ["isolation.level"] = "read_uncommitted" };
        var config = option == "AdditionalConsumerConfig"
            ? Valid with { ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce, AdditionalConsumerConfig = settings }
            : Valid with { ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce, AdditionalClientConfig = settings };

        var error = Assert.Throws<StreamsConfigException>(config.Validate);

        Assert.Equal(option, error.Option);
        Assert.Contains("isolation.level", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_IsolationLevelTheGuaranteeAllows_DoesNotThrow()
    {
        (Valid with { AdditionalConsumerConfig = new Dictionary<string, string> { ["isolation.level"] = "read_committed" } }).Validate();
        (Valid with { AdditionalConsumerConfig = new Dictionary<string, string> { ["isolation.level"] = "read_uncommitted" } }).Validate();
        (Valid with { ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce, AdditionalClientConfig = new Dictionary<string, string> { ["isolation.level"] = "read_committed" } }).Validate();
    }

    // Applied after the engine's own settings, each would quietly take a guarantee away (auto-commit committing offsets
    // of unacknowledged writes, acks=1, another group): they were passed through as they were.
    [Theory]
    [InlineData("AdditionalConsumerConfig", "enable.auto.commit", "true")]
    [InlineData("AdditionalConsumerConfig", "enable.auto.offset.store", "true")]
    [InlineData("AdditionalConsumerConfig", "group.id", "elsewhere")]
    [InlineData("AdditionalConsumerConfig", "enable.partition.eof", "false")]
    [InlineData("AdditionalConsumerConfig", "partition.assignment.strategy", "roundrobin")]
    [InlineData("AdditionalProducerConfig", "acks", "1")]
    [InlineData("AdditionalProducerConfig", "topic.request.required.acks", "1")]
    [InlineData("AdditionalProducerConfig", "enable.idempotence", "false")]
    [InlineData("AdditionalProducerConfig", "transactional.id", "mine")]
    [InlineData("AdditionalProducerConfig", "dotnet.producer.enable.delivery.reports", "false")]
    [InlineData("AdditionalClientConfig", "acks", "0")]
    [InlineData("AdditionalClientConfig", "enable.auto.commit", "true")]
    [InlineData("AdditionalClientConfig", "bootstrap.servers", "other:9092")]
    public void Validate_AdditionalSettingTheGuaranteesRestOn_RefusedNamingOptionAndSetting(string option, string name, string value)
    {
        var settings = new Dictionary<string, string> { ["fetch.wait.max.ms"] = "10", [name] = value };
        var config = option switch
        {
            "AdditionalConsumerConfig" => Valid with { AdditionalConsumerConfig = settings },
            "AdditionalProducerConfig" => Valid with { AdditionalProducerConfig = settings },
            _ => Valid with { AdditionalClientConfig = settings },
        };

        var error = Assert.Throws<StreamsConfigException>(config.Validate);

        Assert.Equal(option, error.Option);
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AdditionalTuningSettings_Accepted()
    {
        (Valid with
        {
            AdditionalClientConfig = new Dictionary<string, string> { ["socket.keepalive.enable"] = "true" },
            AdditionalConsumerConfig = new Dictionary<string, string> { ["fetch.wait.max.ms"] = "10", ["auto.offset.reset"] = "latest" },
            AdditionalProducerConfig = new Dictionary<string, string> { ["message.max.bytes"] = "1048576", ["linger.ms"] = "5" },
        }).Validate();
    }

    [Fact]
    public void EffectiveCommitInterval_ExactlyOnce_DefaultsTo100Ms()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Valid.EffectiveCommitInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(100), (Valid with { ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce }).EffectiveCommitInterval);
    }

    [Fact]
    public async Task StartAsync_InvalidConfig_ThrowsBeforeStarting()
    {
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), Valid with { NumStreamThreads = -1 });

        await Assert.ThrowsAsync<StreamsConfigException>(() => streams.StartAsync());
        Assert.Equal(KafkaStreamsState.Created, streams.State);
    }
}
