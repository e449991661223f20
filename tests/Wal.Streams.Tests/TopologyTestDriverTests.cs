using System.Text;
using Confluent.Kafka;
using Wal.Streams.State;
using Wal.Streams.TestDriver;

namespace Wal.Streams.Tests;

public sealed class TopologyTestDriverTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void PipeInput_CountingTopology_EmitsRunningCountsAndFillsStore()
    {
        using var driver = new TopologyTestDriver(CountingProcessor.Topology("in", "out"), initialWallClockTime: Start);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);
        var output = driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int64);

        input.PipeKeyValueList([new("a", "1"), new("b", "1"), new("a", "2")]);

        Assert.Equal([new("a", 1L), new("b", 1L), new("a", 2L)], output.ReadKeyValuesToList());
        Assert.True(output.IsEmpty);
        var store = driver.GetKeyValueStore(CountingProcessor.StoreName);
        Assert.Equal(2, CountingProcessor.Read(store.Get("a"u8)));
        Assert.Equal(2, store.ApproximateCount);
    }

    [Fact]
    public void PipeInput_LoggedStore_WritesChangelogTopic()
    {
        using var driver = new TopologyTestDriver(CountingProcessor.Topology("in", "out"));
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        input.PipeInput("k", "v");
        input.PipeInput("k", "v");

        var changelog = driver.CreateOutputTopic("test-driver-counts-changelog", Deserializers.Utf8, Deserializers.ByteArray);
        var values = changelog.ReadValuesToList().Select(CountingProcessor.Read).ToList();
        Assert.Equal([1L, 2L], values);
    }

    [Fact]
    public void PipeInput_PutOwnedThenDeleteOwned_ChangelogCarriesThePutAndATombstone()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("owned", () => new OwnedWriter(), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore("owned-store"), "owned")
            .Build();
        using var driver = new TopologyTestDriver(topology);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        input.PipeInput("k", "v1");
        var afterPut = driver.GetKeyValueStore("owned-store").Get("k"u8);
        input.PipeInput("k", "delete");

        Assert.Equal("v1"u8.ToArray(), afterPut);
        Assert.Null(driver.GetKeyValueStore("owned-store").Get("k"u8));
        var changelog = driver.CreateOutputTopic("test-driver-owned-store-changelog", Deserializers.Utf8, Deserializers.ByteArray);
        Assert.Equal([new("k", "v1"u8.ToArray()), new("k", null!)], changelog.ReadKeyValuesToList());
    }

    [Fact]
    public void PipeInput_LoggingDisabled_NoChangelog()
    {
        var topology = CountingProcessor.Topology("in", "out", Stores.InMemoryKeyValueStore(CountingProcessor.StoreName).WithLoggingDisabled());
        using var driver = new TopologyTestDriver(topology);

        driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "v");

        Assert.Equal(["out"], driver.ProducedTopicNames);
    }

    [Fact]
    public void ProducedTopicNames_OutputTopicCreatedButNeverWritten_NotListed()
    {
        var topology = CountingProcessor.Topology("in", "out", Stores.InMemoryKeyValueStore(CountingProcessor.StoreName).WithLoggingDisabled());
        using var driver = new TopologyTestDriver(topology);
        var misspelt = driver.CreateOutputTopic("ouput", Deserializers.Utf8, Deserializers.Int64);

        driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "v");

        Assert.True(misspelt.IsEmpty);
        Assert.Equal(["out"], driver.ProducedTopicNames);
    }

    [Fact]
    public void PipeInput_TimestampAndMetadata_ReachTheProcessor()
    {
        var seen = new List<(RecordMetadata? Metadata, long Timestamp, long StreamTime)>();
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("probe", () => new Probe(seen), "source")
            .Build();
        using var driver = new TopologyTestDriver(topology);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8, Start, TimeSpan.FromSeconds(1));

        input.PipeInput("a", "1");
        input.PipeInput("b", "2");
        input.PipeInput("c", "3", Start.AddSeconds(-10));

        var t0 = Start.ToUnixTimeMilliseconds();
        Assert.Equal(new RecordMetadata("in", 0, 2), seen[2].Metadata);
        Assert.Equal([t0, t0 + 1000, t0 - 10_000], seen.Select(s => s.Timestamp));
        Assert.Equal([t0, t0 + 1000, t0 + 1000], seen.Select(s => s.StreamTime));
    }

    [Fact]
    public void ForwardAsync_ToNamedChild_OnlyThatChildReceives()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("router", () => new Router(), "source")
            .AddSink("even", "even-out", Serializers.Utf8, Serializers.Utf8, "router")
            .AddSink("odd", "odd-out", Serializers.Utf8, Serializers.Utf8, "router")
            .Build();
        using var driver = new TopologyTestDriver(topology);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        input.PipeValueList(["1", "2", "3", "4", "5"]);

        Assert.Equal(["2", "4"], driver.CreateOutputTopic("even-out", Deserializers.Utf8, Deserializers.Utf8).ReadValuesToList());
        Assert.Equal(["1", "3", "5"], driver.CreateOutputTopic("odd-out", Deserializers.Utf8, Deserializers.Utf8).ReadValuesToList());
    }

    [Fact]
    public void GetStateStore_NotConnected_Throws()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("nosy", () => new Nosy(), "source")
            .AddProcessor("owner", () => new Router(), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore("private"), "owner")
            .Build();

        var error = Assert.Throws<StreamsException>(() => new TopologyTestDriver(topology));

        Assert.Contains("'private'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PipeInput_SinkTopicReadBySameTopology_PipedBackIn()
    {
        var topology = new TopologyBuilder()
            .AddSource("first", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddSink("to-middle", "middle", Serializers.Utf8, Serializers.Utf8, "first")
            .AddSource("second", Deserializers.Utf8, Deserializers.Utf8, "middle")
            .AddSink("to-out", "out", Serializers.Utf8, Serializers.Utf8, "second")
            .Build();
        using var driver = new TopologyTestDriver(topology);

        driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "v");

        Assert.Equal(new KeyValuePair<string, string>("k", "v"), driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Utf8).ReadKeyValue());
    }

    [Fact]
    public void ReadRecord_EmptyTopic_Throws()
    {
        using var driver = new TopologyTestDriver(CountingProcessor.Topology("in", "out"));

        Assert.Throws<InvalidOperationException>(() => driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int64).ReadRecord());
    }

    [Fact]
    public void PipeInput_ProcessorThrowsAfterAWrite_WriteStaysAndTheNextRecordIsProcessed()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("put-then-fail", () => new PutThenFailOn("bad"), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore("written"), "put-then-fail")
            .Build();
        using var driver = new TopologyTestDriver(topology);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        Assert.Throws<StreamsException>(() => input.PipeInput("k1", "bad"));
        input.PipeInput("k2", "good");

        // Nothing is rolled back or retried (docs/streams-runtime.md): the runtime's thread would stop here instead.
        var store = driver.GetKeyValueStore("written");
        Assert.Equal("bad"u8.ToArray(), store.Get("k1"u8));
        Assert.Equal("good"u8.ToArray(), store.Get("k2"u8));
    }

    [Fact]
    public void Dispose_Twice_OutputWrittenBeforeStaysReadable()
    {
        var driver = new TopologyTestDriver(CountingProcessor.Topology("in", "out"));
        driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8).PipeInput("k", "v");
        var output = driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Int64);

        driver.Dispose();
        driver.Dispose();

        Assert.Equal(1L, output.ReadValue());
        Assert.Throws<ObjectDisposedException>(() => driver.GetKeyValueStore(CountingProcessor.StoreName));
    }

    [Fact]
    public async Task PipeInputAsync_ProcessorAwaitingIo_Completes()
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("slow", () => new Slow(), "source")
            .AddSink("sink", "out", Serializers.Utf8, Serializers.Utf8, "slow")
            .Build();
        using var driver = new TopologyTestDriver(topology);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);

        await input.PipeInputAsync("k", "v");

        Assert.Equal("v", driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Utf8).ReadValue());
        Assert.Throws<InvalidOperationException>(() => input.PipeInput("k", "again"));
    }

    private sealed class PutThenFailOn(string failing) : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            Context.GetStateStore<IKeyValueStore>("written").Put(Encoding.UTF8.GetBytes(record.Key), Encoding.UTF8.GetBytes(record.Value));
            return record.Value == failing ? throw new InvalidOperationException("fails after its write") : default;
        }
    }

    private sealed class Probe(List<(RecordMetadata?, long, long)> seen) : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            seen.Add((Context.RecordMetadata, record.Timestamp, Context.CurrentStreamTimeMs));
            return default;
        }
    }

    private sealed class Router : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record) =>
            Context.ForwardAsync(record, int.Parse(record.Value, System.Globalization.CultureInfo.InvariantCulture) % 2 == 0 ? "even" : "odd");
    }

    private sealed class OwnedWriter : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            var store = Context.GetStateStore<IKeyValueStore>("owned-store");
            if (record.Value == "delete")
            {
                store.DeleteOwned(Encoding.UTF8.GetBytes(record.Key));
            }
            else
            {
                store.PutOwned(Encoding.UTF8.GetBytes(record.Key), Encoding.UTF8.GetBytes(record.Value));
            }

            return default;
        }
    }

    private sealed class Nosy : Processor<string, string, string, string>
    {
        public override void Init(IProcessorContext<string, string> context) => context.GetStateStore<IKeyValueStore>("private");

        public override ValueTask ProcessAsync(Record<string, string> record) => default;
    }

    private sealed class Slow : Processor<string, string, string, string>
    {
        public override async ValueTask ProcessAsync(Record<string, string> record)
        {
            await Task.Delay(50);
            await Context.ForwardAsync(record.WithValue(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(record.Value))));
        }
    }
}
