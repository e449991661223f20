namespace Wal.Namespaces;

/// <summary>
/// The control-plane record that says how far the seed got: written as begun before the seed's first definition and
/// as completed after its last. Compaction keeps a key's latest record, so a marker still saying begun means a seed
/// stopped part-way (the process died, the broker refused a record) and the next start with a seed file completes it.
/// A topic without a marker was written before seeds were marked, or only through the admin API: nothing is completed.
/// </summary>
internal static class SeedMarker
{
    // ':' is not a namespace name's character: no definition or delete can share the key.
    public const string Key = "wal:seed";

    public static byte[] Begun => "begun"u8.ToArray();

    public static byte[] Completed => "completed"u8.ToArray();

    public static bool IsBegun(byte[]? value) => value is not null && value.AsSpan().SequenceEqual("begun"u8);
}
