using System.Text;

namespace Wal.Streams.State.Tests;

/// <summary>Short ways to write keys and values in tests.</summary>
internal static class Keys
{
    public static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    public static string S(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Every entry of <paramref name="iterator"/>, copied, then disposes it.</summary>
    public static List<(byte[] Key, byte[] Value)> Drain(IKeyValueIterator iterator)
    {
        using (iterator)
        {
            var entries = new List<(byte[], byte[])>();
            while (iterator.MoveNext())
            {
                entries.Add((iterator.Key.ToArray(), iterator.Value.ToArray()));
            }

            return entries;
        }
    }

    public static List<string> DrainKeys(IKeyValueIterator iterator) => Drain(iterator).Select(e => S(e.Key)).ToList();
}
