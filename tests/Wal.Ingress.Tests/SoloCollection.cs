namespace Wal.Ingress.Tests;

/// <summary>
/// Tests that measure the whole process (memory, latency under load) run alone: xunit starts this
/// collection only after the parallel ones have finished, so no other test's load is counted.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoloCollection
{
    public const string Name = "solo";
}
