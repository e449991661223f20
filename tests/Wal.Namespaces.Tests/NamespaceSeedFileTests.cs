using Wal.Schemas.V1;

namespace Wal.Namespaces.Tests;

public sealed class NamespaceSeedFileTests
{
    [Fact]
    public void Load_ShippedSeedFile_ResolvesEveryNamespace()
    {
        var definitions = NamespaceSeedFile.Load(Path.Combine(AppContext.BaseDirectory, "seed", "namespaces.json"));

        var registry = new NamespaceRegistry(definitions);

        Assert.True(registry.TryGet("demo", out var demo));
        Assert.Equal(Target.DestinationOneofCase.Memcached, demo.DefaultTarget.DestinationCase);
        Assert.Equal(65536, demo.MaxPayloadBytes);
        Assert.Contains(Persona.DelayQueue, demo.Personas);
    }

    [Fact]
    public void Parse_SnakeCaseFieldNames_AreAccepted()
    {
        var definitions = NamespaceSeedFile.Parse("""{"namespaces":[{"name":"x","dead_letter_topic":"x-dead"}]}""");

        Assert.Equal("x-dead", Assert.Single(definitions).DeadLetterTopic);
    }

    [Fact]
    public void Parse_UnknownField_NamesIt()
    {
        var error = Assert.Throws<NamespaceConfigException>(() =>
            NamespaceSeedFile.Parse("""{"namespaces":[{"name":"x","retries":3}]}""", "seed.json"));

        Assert.Contains("seed.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("retries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_SaysWhichFile()
    {
        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceSeedFile.Load("/nonexistent/namespaces.json"));

        Assert.Contains("/nonexistent/namespaces.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ADirectory_SaysWhichFile()
    {
        var error = Assert.Throws<NamespaceConfigException>(() => NamespaceSeedFile.Load(AppContext.BaseDirectory));

        Assert.Contains(AppContext.BaseDirectory, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ThenParse_RoundTrips()
    {
        var original = new NamespaceConfig { Name = "x", MaxPayloadBytes = 42, Personas = { Persona.DelayQueue } };

        var parsed = NamespaceSeedFile.Parse(NamespaceSeedFile.Format([original]));

        Assert.Equal(original, Assert.Single(parsed));
    }
}
