using System.Globalization;

namespace Wal.Streams;

/// <summary>
/// Identifies a task: the sub-topology it runs and the input partition it owns. Written as <c>subtopology_partition</c>:
/// <c>0_3</c> for a numbered sub-topology, <c>orders_3</c> for one named with <see cref="TopologyBuilder.NameSubtopology"/>.
/// The written form names the task's state directory.
/// </summary>
/// <param name="Subtopology">The sub-topology's name: its number in decimal unless the topology named it.</param>
/// <param name="Partition">The input partition.</param>
public readonly record struct TaskId(string Subtopology, int Partition)
{
    /// <summary>A task of a numbered sub-topology.</summary>
    public TaskId(int subtopology, int partition)
        : this(subtopology.ToString(CultureInfo.InvariantCulture), partition)
    {
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Subtopology}_{Partition}");

    /// <summary>Parses the <c>subtopology_partition</c> form written by <see cref="ToString"/>; the partition follows the last '_'.</summary>
    public static bool TryParse(string text, out TaskId id)
    {
        ArgumentNullException.ThrowIfNull(text);
        id = default;
        var separator = text.LastIndexOf('_');
        if (separator <= 0
            || !int.TryParse(text.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
            || !TopologyBuilder.IsSubtopologyName(text[..separator]))
        {
            return false;
        }

        id = new TaskId(text[..separator], partition);
        return true;
    }
}
