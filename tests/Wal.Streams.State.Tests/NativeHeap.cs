using System.Runtime.InteropServices;

namespace Wal.Streams.State.Tests;

/// <summary>
/// Bytes in use on glibc's heap, where librocksdb allocates (Debian builds it without jemalloc):
/// a native leak shows up here even when it is too small to move the process's RSS.
/// </summary>
internal static partial class NativeHeap
{
    public static long InUseBytes()
    {
        var info = MallInfo2();

        // Small and medium blocks from the arenas, plus blocks mmapped on their own.
        return (long)(info.InUseArenaBytes + info.MmappedBytes);
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallinfo2")]
    private static partial MallocInfo MallInfo2();

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallocInfo
    {
        public readonly nuint Arena;
        public readonly nuint OrdinaryBlocks;
        public readonly nuint SmallBlocks;
        public readonly nuint MmappedBlocks;
        public readonly nuint MmappedBytes;
        public readonly nuint MaxTotalAllocated;
        public readonly nuint FreedSmallBytes;
        public readonly nuint InUseArenaBytes;
        public readonly nuint FreeArenaBytes;
        public readonly nuint KeepCost;
    }
}
