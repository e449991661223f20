using Wal.RocksDb.Handles;

namespace Wal.RocksDb;

/// <summary>
/// A RocksDB iterator: position it with <see cref="SeekToFirst"/> or <see cref="Seek"/>, then step with
/// <see cref="Next"/> while <see cref="Valid"/>. <see cref="Key"/> and <see cref="Value"/> point into
/// RocksDB's memory and stay valid only until the iterator moves or is disposed.
/// </summary>
public sealed unsafe class RocksDbIterator : IDisposable
{
    private readonly IteratorHandle _iterator;
    private readonly ReadOptionsHandle _readOptions;
    private bool _disposed;

    internal RocksDbIterator(IteratorHandle iterator, ReadOptionsHandle readOptions)
    {
        _iterator = iterator;
        _readOptions = readOptions;
    }

    /// <summary>Whether the iterator is positioned on an entry.</summary>
    public bool Valid
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return NativeMethods.IterValid(_iterator) != 0;
        }
    }

    public ReadOnlySpan<byte> Key
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            nuint length;
            var key = NativeMethods.IterKey(_iterator, &length);
            return new ReadOnlySpan<byte>(key, checked((int)length));
        }
    }

    public ReadOnlySpan<byte> Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            nuint length;
            var value = NativeMethods.IterValue(_iterator, &length);
            return new ReadOnlySpan<byte>(value, checked((int)length));
        }
    }

    public void SeekToFirst()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        NativeMethods.IterSeekToFirst(_iterator);
    }

    /// <summary>Moves to the first key ≥ <paramref name="key"/>.</summary>
    public void Seek(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        fixed (byte* k = key)
        {
            NativeMethods.IterSeek(_iterator, k, (nuint)key.Length);
        }
    }

    public void Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        NativeMethods.IterNext(_iterator);
    }

    /// <summary>
    /// Throws if the iterator stopped because of an error (I/O, corruption) rather than the end of its
    /// range; call it when <see cref="Valid"/> turns false.
    /// </summary>
    public void ThrowIfFailed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        NativeMethods.IterGetError(_iterator, &error);
        NativeMethods.ThrowIfError(error);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _iterator.Dispose();
        _readOptions.Dispose();
    }
}
