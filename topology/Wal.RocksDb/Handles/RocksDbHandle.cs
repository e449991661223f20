using System.Runtime.InteropServices;

namespace Wal.RocksDb.Handles;

/// <summary>
/// A native RocksDB object, freed with its matching <c>rocksdb_*_destroy</c> exactly once.
/// A handle can keep others alive: RocksDB objects that point into another object (an iterator into
/// its database and read options) must be freed before it, even when finalizers run in any order.
/// </summary>
internal abstract class RocksDbHandle : SafeHandle
{
    private SafeHandle[]? _dependencies;

    protected RocksDbHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Keeps <paramref name="dependencies"/> from being freed until this handle is.</summary>
    public void KeepAlive(params SafeHandle[] dependencies)
    {
        var added = 0;
        try
        {
            foreach (var dependency in dependencies)
            {
                var success = false;
                dependency.DangerousAddRef(ref success);
                added++;
            }
        }
        catch
        {
            for (var i = 0; i < added; i++)
            {
                dependencies[i].DangerousRelease();
            }

            throw;
        }

        _dependencies = dependencies;
    }

    protected sealed override bool ReleaseHandle()
    {
        Destroy(handle);
        if (_dependencies is { } dependencies)
        {
            foreach (var dependency in dependencies)
            {
                dependency.DangerousRelease();
            }
        }

        return true;
    }

    /// <summary>Calls the matching <c>rocksdb_*_destroy</c>.</summary>
    protected abstract void Destroy(IntPtr pointer);
}
