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

    [Fact]
    public void NameSubtopology_NamesItsTasksAndDescription_OthersKeepTheirPosition()
    {
        var topology = new TopologyBuilder()
            .AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "left")
            .AddProcessor("pa", () => new PassThrough(), "a")
            .AddSource("b", Deserializers.Utf8, Deserializers.Utf8, "right")
            .NameSubtopology("pa", "orders_eu")
            .Build();

        Assert.Equal(["orders_eu", "1"], topology.Subtopologies.Select(s => s.Name));
        Assert.Contains("Sub-topology: orders_eu", topology.Describe(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", "x", "not added")]
    [InlineData("a", "", "not valid")]
    [InlineData("a", ".hidden", "not valid")]
    [InlineData("a", "a/b", "not valid")]
    [InlineData("a", "ä", "not valid")]
    public void NameSubtopology_UnknownNodeOrBadName_Refused(string node, string name, string expected)
    {
        var builder = new TopologyBuilder().AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "left");

        var error = Assert.Throws<TopologyException>(() => builder.NameSubtopology(node, name));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NameSubtopology_TooLong_Refused()
    {
        var builder = new TopologyBuilder().AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "left");

        builder.NameSubtopology("a", new string('n', 200));
        Assert.Throws<TopologyException>(() => builder.NameSubtopology("a", new string('n', 201)));
    }

    [Fact]
    public void Build_OneSubtopologyGivenTwoNames_RefusedNamingBoth()
    {
        var builder = new TopologyBuilder()
            .AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "left")
            .AddProcessor("pa", () => new PassThrough(), "a")
            .NameSubtopology("a", "first")
            .NameSubtopology("pa", "second");

        var error = Assert.Throws<TopologyException>(builder.Build);

        Assert.Contains("named both 'first' and 'second'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("same", "same")]
    [InlineData(null, "0")]
    public void Build_TwoSubtopologiesOfOneName_Refused(string? first, string second)
    {
        var builder = new TopologyBuilder()
            .AddSource("a", Deserializers.Utf8, Deserializers.Utf8, "left")
            .AddSource("b", Deserializers.Utf8, Deserializers.Utf8, "right")
            .NameSubtopology("b", second);
        if (first is not null)
        {
            builder.NameSubtopology("a", first);
        }

        var error = Assert.Throws<TopologyException>(builder.Build);

        Assert.Contains($"Two sub-topologies are named '{second}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0_3", "0", 3)]
    [InlineData("orders_12", "orders", 12)]
    [InlineData("my_ns_3", "my_ns", 3)]
    [InlineData("wal.orders-eu_0", "wal.orders-eu", 0)]
    public void TaskId_WrittenAndParsed_RoundTrips(string text, string subtopology, int partition)
    {
        Assert.True(TaskId.TryParse(text, out var id));
        Assert.Equal(new TaskId(subtopology, partition), id);
        Assert.Equal(text, id.ToString());
    }

    [Theory]
    [InlineData("notes")]
    [InlineData("_3")]
    [InlineData("orders_")]
    [InlineData("orders_-1")]
    [InlineData(".hidden_0")]
    [InlineData("a b_0")]
    public void TaskId_NotATaskDirectory_NotParsed(string text)
    {
        Assert.False(TaskId.TryParse(text, out _));
    }

    private sealed class PassThrough : Processor<string, string, string, string>
    {
        public override ValueTask ProcessAsync(Record<string, string> record) => Context.ForwardAsync(record);
    }
}
