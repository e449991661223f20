using System.Runtime.InteropServices;

namespace Wal.RocksDb.Handles;

/// <summary>
/// A <c>rocksdb_readoptions_t</c> and the native copy of its iterate upper bound, which RocksDB
/// references rather than copies: both are freed together, after every iterator using them.
/// </summary>
internal sealed unsafe class ReadOptionsHandle : RocksDbHandle
{
    private byte* _upperBound;

    /// <summary>Copies <paramref name="bound"/> to native memory owned by this handle and sets it.</summary>
    public void SetIterateUpperBound(ReadOnlySpan<byte> bound)
    {
        // Never zero bytes: a null pointer would mean "no bound", and the empty key is a real bound.
        var copy = (byte*)NativeMemory.Alloc((nuint)Math.Max(bound.Length, 1));
        bound.CopyTo(new Span<byte>(copy, bound.Length));
        NativeMethods.ReadOptionsSetIterateUpperBound(this, copy, (nuint)bound.Length);
        NativeMemory.Free(_upperBound);
        _upperBound = copy;
    }

    protected override void Destroy(IntPtr pointer)
    {
        NativeMethods.ReadOptionsDestroy(pointer);
        NativeMemory.Free(_upperBound);
        _upperBound = null;
    }
}
