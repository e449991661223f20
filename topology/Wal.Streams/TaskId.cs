using System.Globalization;

namespace Wal.Streams;

/// <summary>
/// Identifies a task: the sub-topology it runs and the input partition it owns. Written as <c>subtopology_partition</c>, e.g. <c>0_3</c>.
/// </summary>
public readonly record struct TaskId(int Subtopology, int Partition)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Subtopology}_{Partition}");

    /// <summary>Parses the <c>subtopology_partition</c> form written by <see cref="ToString"/>.</summary>
    public static bool TryParse(string text, out TaskId id)
    {
        id = default;
        var parts = text.Split('_');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var subtopology)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            return false;
        }

        id = new TaskId(subtopology, partition);
        return true;
    }
}
