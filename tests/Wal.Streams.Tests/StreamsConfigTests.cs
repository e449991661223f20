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
