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
}
