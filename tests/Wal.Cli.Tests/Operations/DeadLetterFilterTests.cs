using Wal.Cli.Operations;

namespace Wal.Cli.Tests.Operations;

public sealed class DeadLetterFilterTests
{
    private static DeadLetter Letter(string id = "Order-42", string reason = "permanent", string error = "Connection refused") =>
        new(0, 0, id, reason, 1, error, null, "", null);

    [Theory]
    [InlineData("reason=Permanent")]
    [InlineData("REASON=permanent")]
    [InlineData("error=connection REFUSED")]
    [InlineData("error~REFUSED")]
    [InlineData("id=Order-42")]
    [InlineData("id~der-4")]
    public void Matches_ReasonsAndErrorsInAnyCase_IdsExactly(string text)
    {
        var filter = DeadLetterFilter.Parse(text, out var error);

        Assert.Null(error);
        Assert.True(filter!.Matches(Letter()), text);
    }

    [Theory]
    [InlineData("id=order-42")]
    [InlineData("id~ORDER")]
    [InlineData("error=refused")]
    [InlineData("reason=retriable")]
    public void Matches_OtherValue_False(string text) =>
        Assert.False(DeadLetterFilter.Parse(text, out _)!.Matches(Letter()), text);

    [Fact]
    public void Text_ReasonInAnyCase_NamesOneGroup()
    {
        // One position for one set of dead letters: another spelling must not take them all again.
        Assert.Equal("reason=permanent", DeadLetterFilter.Parse("Reason=PERMANENT", out _)!.Text);
        Assert.Equal(
            DeadLetterRedriver.GroupFor("demo", DeadLetterFilter.Parse("reason=permanent", out _)!),
            DeadLetterRedriver.GroupFor("demo", DeadLetterFilter.Parse("reason=Permanent", out _)!));
    }

    [Theory]
    [InlineData("error=Connection refused", "error=connection REFUSED")]
    [InlineData("error~Refused", "ERROR~refused")]
    [InlineData("reason~Perm", "reason~perm")]
    public void GroupFor_ReasonOrErrorInAnotherCase_ResumesTheSameGroup(string typed, string again)
    {
        // The two match the same dead letters; under two groups the second run would take them all again.
        Assert.Equal(DeadLetterRedriver.GroupFor("demo", DeadLetterFilter.Parse(typed, out _)!), DeadLetterRedriver.GroupFor("demo", DeadLetterFilter.Parse(again, out _)!));
    }

    [Fact]
    public void GroupFor_IdInAnotherCase_IsAnotherGroup() =>
        // Ids match exactly, so each spelling takes other dead letters and keeps its own position.
        Assert.NotEqual(
            DeadLetterRedriver.GroupFor("demo", DeadLetterFilter.Parse("id=Order-42", out _)!),
            DeadLetterRedriver.GroupFor("demo", DeadLetterFilter.Parse("id=order-42", out _)!));

    [Fact]
    public void Parse_UnknownReason_NamesTheKnownOnes()
    {
        // It would match nothing, and a redrive would still commit its position past every dead letter.
        Assert.Null(DeadLetterFilter.Parse("reason=permanant", out var error));

        Assert.Contains("permanent, retriable, expired, late", error, StringComparison.Ordinal);
    }
}
