using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>
/// A task's checkpoint file: for each changelog partition, the offset from which restoring must resume
/// (everything before it is in the local store). Written atomically: a temp file, flushed, then renamed over the old one,
/// and the directory flushed after the rename, and after a delete.
/// </summary>
/// <remarks>
/// Without the directory's flush a power loss could bring back the old file (the rename or the delete was only in
/// memory): an offset taken out of the file because its store was wiped would be trusted again beside the refilled
/// store, and skip what lies before it; a file deleted under exactly-once to mark the stores untrusted would vouch
/// for them again.
/// </remarks>
internal static class OffsetCheckpoint
{
    public const string FileName = ".checkpoint";
    private const char Version = '0';

    public static Dictionary<TopicPartition, long> Read(string path)
    {
        var result = new Dictionary<TopicPartition, long>();
        if (!File.Exists(path))
        {
            return result;
        }

        var lines = File.ReadAllLines(path);
        if (lines.Length < 2 || lines[0] != Version.ToString() || !int.TryParse(lines[1], CultureInfo.InvariantCulture, out var count) || lines.Length != count + 2)
        {
            throw new TaskCorruptedException($"Checkpoint file '{path}' is malformed.");
        }

        foreach (var line in lines.Skip(2))
        {
            var parts = line.Split(' ');
            if (parts.Length != 3
                || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var partition)
                || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var offset)
                || offset < 0)
            {
                throw new TaskCorruptedException($"Checkpoint file '{path}' has a malformed line: '{line}'.");
            }

            result[new TopicPartition(parts[0], partition)] = offset;
        }

        return result;
    }

    public static void Write(string path, IReadOnlyDictionary<TopicPartition, long> offsets)
    {
        var text = new StringBuilder();
        text.Append(Version).Append('\n').Append(offsets.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var (partition, offset) in offsets)
        {
            text.Append(partition.Topic).Append(' ')
                .Append(partition.Partition.Value.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(offset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        DirectorySync.Flush(DirectoryOf(path));
    }

    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
            DirectorySync.Flush(DirectoryOf(path));
        }
    }

    private static string DirectoryOf(string path) => Path.GetDirectoryName(Path.GetFullPath(path))!;
}
