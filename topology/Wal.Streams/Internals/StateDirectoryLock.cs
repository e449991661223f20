namespace Wal.Streams.Internals;

/// <summary>
/// An exclusive lock on an application's state directory (<c>{StateDirectory}/{ApplicationId}/.lock</c>), held while an
/// instance runs, as Kafka Streams locks its state directory. Two instances given one directory would share task
/// directories: both writing one task's stores and checkpoints, or one deleting as stale a directory the other still
/// runs. The second is refused at start instead, whether in another process or in this one.
/// </summary>
/// <remarks>
/// .NET takes an advisory <c>flock(2)</c> for <see cref="FileShare.None"/> on Unix, which conflicts between any two
/// opens of the file, in one process or two, and goes with the process however it ends: a killed instance leaves no
/// stale lock behind (the file stays, unlocked).
/// </remarks>
internal sealed class StateDirectoryLock : IDisposable
{
    // The errno .NET reports as the IOException's HResult when flock finds the file locked: EWOULDBLOCK on Linux, on macOS.
    private const int HeldElsewhereLinux = 11;
    private const int HeldElsewhereMacOs = 35;

    private readonly FileStream _file;

    private StateDirectoryLock(FileStream file) => _file = file;

    /// <exception cref="StateDirectoryLockedException">Another instance holds the lock.</exception>
    /// <exception cref="StreamsException">The lock file could not be opened (permissions, a read-only file system).</exception>
    public static StateDirectoryLock Acquire(string applicationDirectory)
    {
        var path = Path.Combine(applicationDirectory, ".lock");
        try
        {
            return new StateDirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && e.HResult is HeldElsewhereLinux or HeldElsewhereMacOs)
        {
            throw new StateDirectoryLockedException(
                $"Another instance of this application runs with the state directory {applicationDirectory} (the lock on {path} is held), " +
                "and two instances must not share one.",
                e)
            {
                Directory = applicationDirectory,
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StreamsException($"Could not open the state directory's lock file {path}: {e.Message}", e);
        }
    }

    public void Dispose() => _file.Dispose();
}
