using System.Runtime.InteropServices;

namespace Wal.Streams.Internals;

/// <summary>
/// Flushes a directory's entries to disk. A file renamed into a directory, or deleted from it, keeps its new
/// name through a power loss only once the directory itself is flushed: the file's own flush covers its
/// contents, not the entry naming it (POSIX leaves that to an fsync of the directory).
/// </summary>
/// <remarks>
/// .NET offers no way to do it: <c>File.OpenHandle</c> refuses to open a directory, and
/// <c>RandomAccess.FlushToDisk</c> needs such a handle; so it is open(2) and fsync(2) from libc.
/// </remarks>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;
    private const int InvalidArgument = 22;
    private const int ReadOnlyFileSystem = 30;

    // O_CLOEXEC, so that a process started meanwhile does not inherit the descriptor; its value differs by system.
    private static readonly int CloseOnExec = OperatingSystem.IsLinux() ? 0x80000 : OperatingSystem.IsMacOS() ? 0x1000000 : 0;

    /// <summary>fsync(2) of <paramref name="directory"/>; on Windows nothing (see the remarks).</summary>
    /// <remarks>
    /// Windows can neither open a directory for writing back nor flush one: NTFS journals a rename's metadata
    /// itself. A file system that cannot flush a directory (EINVAL) or is read-only (EROFS) has nothing to make
    /// durable, as .NET's own flush of a file treats those answers; any other failure throws.
    /// </remarks>
    /// <exception cref="IOException">The directory could not be opened or flushed.</exception>
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var descriptor = Open(directory, ReadOnly | CloseOnExec);
        if (descriptor < 0)
        {
            throw Failure("open", directory, Marshal.GetLastPInvokeError());
        }

        try
        {
            if (Fsync(descriptor) != 0 && Marshal.GetLastPInvokeError() is var error and not (InvalidArgument or ReadOnlyFileSystem))
            {
                throw Failure("fsync", directory, error);
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private static IOException Failure(string call, string directory, int error) =>
        new($"{call} of directory '{directory}' failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).");

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
