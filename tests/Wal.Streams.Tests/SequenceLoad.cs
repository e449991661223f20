using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams.TestHost;

namespace Wal.Streams.Tests;

/// <summary>
/// Input for failover tests: <c>Keys</c> keys, each with sequence numbers 0..<c>PerKey</c>-1 produced in order, a round at a time,
/// and the checks that every record was processed at least once and every store holds exactly (PerKey, PerKey - 1).
/// </summary>
internal sealed class SequenceLoad(EmbeddedKafkaCluster cluster, string applicationId, int keys, int perKey)
{
    public const string Input = "in";
    public const string Output = "out";

    public string Changelog => $"{applicationId}-{SequenceCountingProcessor.StoreName}-changelog";

    public int Total => keys * perKey;

    public void CreateTopics(int partitions)
    {
        cluster.CreateTopic(Input, partitions);
        cluster.CreateTopic(Output, partitions);
        cluster.CreateTopic(Changelog, partitions);
    }

    /// <summary>Produces round after round with a pause between rounds, so instances join and leave while records flow.</summary>
    public Task ProduceAsync(TimeSpan pauseBetweenRounds, CancellationToken cancellationToken = default) => Task.Run(async () =>
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
        }).Build();
        for (var sequence = 0; sequence < perKey; sequence++)
        {
            for (var key = 0; key < keys; key++)
            {
                producer.Produce(Input, new Message<string, string> { Key = $"k{key}", Value = sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }

            producer.Flush(cancellationToken);
            await Task.Delay(pauseBetweenRounds, cancellationToken);
        }
    }, cancellationToken);

    /// <summary>Waits until the output holds every (key, sequence); asserts it does.</summary>
    public async Task AssertEveryRecordProcessedAsync()
    {
        var seen = new HashSet<(string, string)>();
        var next = 0;
        await KafkaTestKit.ReadUntilAsync(cluster, Output, Deserializers.Utf8, Deserializers.Utf8, read =>
        {
            for (; next < read.Count; next++)
            {
                seen.Add((read[next].Message.Key, read[next].Message.Value));
            }

            return seen.Count >= Total;
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(Total, seen.Count);
    }

    /// <summary>The store's final state, as its changelog says (the last value per key), must be exactly (PerKey, PerKey - 1) for every key.</summary>
    public async Task AssertExactStoreStateAsync()
    {
        var state = new Dictionary<string, (long Count, long Last)>();
        var expected = (Count: (long)perKey, Last: (long)perKey - 1);
        var next = 0;
        await KafkaTestKit.ReadUntilAsync(cluster, Changelog, Deserializers.Utf8, Deserializers.ByteArray, read =>
        {
            for (; next < read.Count; next++)
            {
                state[read[next].Message.Key] = SequenceCountingProcessor.Decode(read[next].Message.Value);
            }

            return state.Count == keys && state.Values.All(v => v == expected);
        });
        Assert.Equal(keys, state.Count);
        Assert.All(state, s => Assert.Equal(expected, s.Value));
    }
}
