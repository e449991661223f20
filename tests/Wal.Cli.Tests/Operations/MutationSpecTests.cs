using Wal.Cli.Operations;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Operations;

public sealed class MutationSpecTests
{
    [Fact]
    public void FromOptions_PutsAndDeletes_InOrderWithSequences()
    {
        var spec = MutationSpec.FromOptions(["table=local;key=u1;value=Ada", "table=local;key=u2;delete;version=7"]);

        Assert.Equal(2, spec.Chunks.Count);
        Assert.Equal(0u, spec.Chunks[0].Sequence);
        Assert.Equal("Ada", spec.Chunks[0].Put.Value.ToStringUtf8());
        Assert.Equal(MutationChunk.OperationOneofCase.Delete, spec.Chunks[1].OperationCase);
        Assert.Equal("u2", spec.Chunks[1].Delete.Key.ToStringUtf8());
        Assert.Equal(7, spec.Chunks[1].Version);
    }

    [Theory]
    [InlineData("table=local;key=u1")]
    [InlineData("key=u1;value=x")]
    [InlineData("table=local;key=u1;value=x;delete")]
    [InlineData("table=local;key=u1;colour=red")]
    public void FromOptions_Invalid_UsageErrorQuotingTheChunk(string text)
    {
        var e = Assert.Throws<CliException>(() => MutationSpec.FromOptions([text]));

        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromFile_JsonValue_IsSentAsItsJsonText()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mutation-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """
            {"requestId": "r-1", "chunks": [
              {"table": "users", "put": {"key": "u1", "value": {"name": "Ada", "age": 36}}},
              {"table": "orders", "delete": {"key": "o9"}, "version": 12}
            ]}
            """);

        var spec = MutationSpec.FromFile(path);
        File.Delete(path);

        Assert.Equal("r-1", spec.RequestId);
        Assert.Equal("""{"name":"Ada","age":36}""", spec.Chunks[0].Put.Value.ToStringUtf8());
        Assert.Equal("orders", spec.Chunks[1].Table);
        Assert.Equal(12, spec.Chunks[1].Version);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"chunks": []}""")]
    [InlineData("""{"chunks": [{"table": "t", "put": {"key": "k"}}]}""")]
    [InlineData("""{"chunkz": [{"table": "t", "delete": {"key": "k"}}], "chunks": [{"table": "t", "delete": {"key": "k"}}]}""")]
    public void FromFile_Invalid_UsageError(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mutation-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);

        var e = Assert.Throws<CliException>(() => MutationSpec.FromFile(path));
        File.Delete(path);

        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }
}
