using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

public sealed class DirectorySyncTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "wal-streams-tests", Guid.NewGuid().ToString("N"));

    public DirectorySyncTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public void Flush_ExistingDirectory_Succeeds()
    {
        File.WriteAllText(Path.Combine(_directory, "file"), "x");

        DirectorySync.Flush(_directory);

        Assert.True(File.Exists(Path.Combine(_directory, "file")));
    }

    // A failure that only a real open(2) can report: the call is made, not skipped.
    [Fact]
    public void Flush_MissingDirectory_ThrowsNamingTheSystemError()
    {
        var missing = Path.Combine(_directory, "missing");

        var error = Assert.Throws<IOException>(() => DirectorySync.Flush(missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("errno 2", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
