namespace Wal.Sinks.Memcached.Protocol;

/// <summary>
/// One meta command before it is written: the verb, the key, the request flags (already in wire
/// form, without the opaque, which the connection assigns), and for <c>ms</c> the value.
/// </summary>
internal readonly record struct MetaCommand(string Verb, byte[] Key, string Flags, ReadOnlyMemory<byte> Value, bool HasValue)
{
    public static MetaCommand Get(byte[] key, string flags) => new("mg", key, flags, default, false);

    public static MetaCommand Set(byte[] key, ReadOnlyMemory<byte> value, string flags) => new("ms", key, flags, value, true);

    public static MetaCommand Delete(byte[] key, string flags) => new("md", key, flags, default, false);
}
