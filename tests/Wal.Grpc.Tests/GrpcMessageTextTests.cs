namespace Wal.Grpc.Tests;

public sealed class GrpcMessageTextTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("a\nb", "a%0Ab")]
    [InlineData("ü", "%C3%BC")]
    public void Encode_Text_PercentEncodesOutsidePrintableAscii(string text, string encoded)
    {
        Assert.Equal(encoded, GrpcMessageText.Encode(text));
        Assert.Equal(text, GrpcMessageText.Decode(encoded));
    }

    [Theory]
    [InlineData("% 1x", "% 1x")]
    [InlineData("%zz", "%zz")]
    [InlineData("50%", "50%")]
    [InlineData("%+1", "%+1")]
    public void Decode_NotAnEscape_KeptAsItIs(string encoded, string text) => Assert.Equal(text, GrpcMessageText.Decode(encoded));

    [Theory]
    [InlineData('a', 1)]
    [InlineData('é', 2)]
    [InlineData('文', 3)]
    public void Bound_LongText_FitsTheLimitInUtf8BytesAndCountsWhatWasLeftOut(char c, int bytesEach)
    {
        var text = new string(c, 30_000);

        var bounded = GrpcMessageText.Bound(text);

        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(bounded), GrpcMessageText.MaxMessageBytes - 2 * bytesEach - 32, GrpcMessageText.MaxMessageBytes);
        var kept = bounded.IndexOf('…', StringComparison.Ordinal);
        Assert.Equal(new string(c, kept), bounded[..kept]);
        Assert.EndsWith($"… ({text.Length - kept} more characters)", bounded, StringComparison.Ordinal);
    }

    [Fact]
    public void Bound_BoundedText_PassesThroughUnchanged()
    {
        var once = GrpcMessageText.Bound(new string('a', 30_000));

        Assert.Equal(once, GrpcMessageText.Bound(once));
        Assert.EndsWith("(29008 more characters)", once, StringComparison.Ordinal);
    }

    [Fact]
    public void Bound_SurrogatePairAtTheCut_KeptWholeOrLeftOutWhole()
    {
        for (var prefix = 980; prefix <= 1_000; prefix++)
        {
            var bounded = GrpcMessageText.Bound(new string('a', prefix) + string.Concat(Enumerable.Repeat("😀", 40)));

            Assert.DoesNotContain('\uFFFD', GrpcMessageText.Decode(GrpcMessageText.Encode(bounded)));
        }
    }

    [Fact]
    public void Bound_ShortText_Unchanged() => Assert.Equal("é short", GrpcMessageText.Bound("é short"));
}
