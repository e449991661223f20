using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// A persistent store for engine tests before RocksDB is wired in: entries in memory, written to <c>data.bin</c> in its
/// directory on <see cref="Flush"/> (as RocksDB with its WAL off keeps only what was flushed), loaded on open.
/// </summary>
internal sealed class FileBackedKeyValueStore : IKeyValueStore
{
    private readonly InMemoryKeyValueStore _entries;
    private readonly string _file;

    public FileBackedKeyValueStore(string name, string directory)
    {
        _entries = new InMemoryKeyValueStore(name);
        _file = Path.Combine(directory, "data.bin");
        foreach (var (key, value) in Load(_file))
        {
            _entries.Put(key, value);
        }
    }

    public string Name => _entries.Name;

    public bool Persistent => true;

    public long ApproximateCount => _entries.ApproximateCount;

    public static IStoreBuilder Builder(string name) =>
        new KeyValueStoreBuilder(name, persistent: true, loggingEnabled: true, (n, directory) => new FileBackedKeyValueStore(n, directory));

    public static List<(byte[] Key, byte[] Value)> Load(string file)
    {
        var entries = new List<(byte[], byte[])>();
        if (!File.Exists(file))
        {
            return entries;
        }

        using var reader = new BinaryReader(File.OpenRead(file));
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            var key = reader.ReadBytes(reader.ReadInt32());
            var value = reader.ReadBytes(reader.ReadInt32());
            entries.Add((key, value));
        }

        return entries;
    }

    public static void Save(string file, IEnumerable<(byte[] Key, byte[] Value)> entries)
    {
        using var writer = new BinaryWriter(File.Create(file));
        foreach (var (key, value) in entries)
        {
            writer.Write(key.Length);
            writer.Write(key);
            writer.Write(value.Length);
            writer.Write(value);
        }
    }

    public byte[]? Get(ReadOnlySpan<byte> key) => _entries.Get(key);

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _entries.Put(key, value);

    public void Delete(ReadOnlySpan<byte> key) => _entries.Delete(key);

    public void Write(WriteBatch batch) => _entries.Write(batch);

    public IKeyValueIterator Range(byte[]? from, byte[]? to) => _entries.Range(from, to);

    public void Flush()
    {
        var all = new List<(byte[], byte[])>();
        using (var iterator = _entries.Range(null, null))
        {
            while (iterator.MoveNext())
            {
                all.Add((iterator.Key.ToArray(), iterator.Value.ToArray()));
            }
        }

        Save(_file, all);
    }

    public void Dispose() => _entries.Dispose();
}
