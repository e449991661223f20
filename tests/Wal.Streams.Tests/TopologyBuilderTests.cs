using Confluent.Kafka;

namespace Wal.Streams.Tests;

public sealed class TopologyBuilderTests
{
    [Fact]
    public void AddProcessor_UnknownParent_ThrowsNamingIt()
    {
        var builder = new TopologyBuilder().AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in");

        var error = Assert.Throws<TopologyException>(() => builder.AddProcessor("p", () => new PassThrough(), "missing"));

        Assert.Contains("'missing'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddSource_DuplicateName_Throws()
    {
        var builder = new TopologyBuilder().AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in");

        Assert.Throws<TopologyException>(() => builder.AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "other"));
    }

    [Fact]
    public void AddSource_TopicAlreadyRead_Throws()
    {
        var builder = new TopologyBuilder().AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "in");

        var error = Assert.Throws<TopologyException>(() => builder.AddSource("b", Deserializers.Utf8, Deserializers.Utf8, "in"));

        Assert.Contains("'in'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddSink_TypeMismatchWithParent_ThrowsNamingBothTypes()
    {
        var builder = new TopologyBuilder().AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in");

        var error = Assert.Throws<TopologyException>(() => builder.AddSink("sink", "out", Serializers.Utf8, Serializers.Int64, "source"));

        Assert.Contains("Int64", error.Message, StringComparison.Ordinal);
        Assert.Contains("String", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddStateStore_UnknownProcessor_Throws()
    {
        var builder = new TopologyBuilder().AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in");

        Assert.Throws<TopologyException>(() => builder.AddStateStore(Stores.InMemoryKeyValueStore("s"), "nope"));
    }

    [Fact]
    public void Build_NoSource_Throws()
    {
        Assert.Throws<TopologyException>(() => new TopologyBuilder().Build());
    }

    [Fact]
    public void Build_TwoSourcesSharingAStore_OneSubtopologyWithBothTopics()
    {
        var topology = new TopologyBuilder()
            .AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "left")
            .AddSource("b", Deserializers.Utf8, Deserializers.Utf8, "right")
            .AddProcessor("pa", () => new PassThrough(), "a")
            .AddProcessor("pb", () => new PassThrough(), "b")
            .AddStateStore(Stores.InMemoryKeyValueStore("shared"), "pa", "pb")
            .AddSource("c", Deserializers.Utf8, Deserializers.Utf8, "alone")
            .Build();

        Assert.Equal(2, topology.Subtopologies.Count);
        Assert.Equal(["left", "right"], topology.Subtopologies[0].SourceTopics);
        Assert.Equal(["alone"], topology.Subtopologies[1].SourceTopics);
    }

    [Fact]
    public void Describe_ListsNodesWithChildren()
    {
        var text = CountingProcessor.Topology("in", "out").Describe();

        Assert.Contains("Sub-topology: 0", text, StringComparison.Ordinal);
        Assert.Contains("Source: source (topics: [in])", text, StringComparison.Ordinal);
        Assert.Contains("Processor: count (stores: [counts])", text, StringComparison.Ordinal);
        Assert.Contains("Sink: sink (topic: out)", text, StringComparison.Ordinal);
    }

    private sealed class PassThrough : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record) => Context.ForwardAsync(record);
    }
}
