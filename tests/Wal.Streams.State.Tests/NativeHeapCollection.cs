namespace Wal.Streams.State.Tests;

/// <summary>
/// Tests that measure the process's native heap run alone: glibc's counters are process-wide, so a
/// RocksDB store opened by a test running alongside would look like a leak.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeHeapCollection
{
    public const string Name = "native heap";
}
