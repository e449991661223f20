namespace Wal.Cli.Tests;

/// <summary>
/// Tests that run <c>wal up</c> in this process: it keeps its stores in one directory per process and deletes it when it
/// stops, so two at once would take each other's.
/// </summary>
[CollectionDefinition(Name)]
public sealed class UpStateDirectoryCollection
{
    public const string Name = "wal up state directory";
}
