namespace Wal.Topology.Replication;

/// <summary>
/// A namespace's region names, equal by content: <see cref="RegionReplicatorOptions"/> is compared to tell a changed
/// plan from the same one re-planned, and an array would differ on every re-plan and restart every replicator.
/// </summary>
public sealed class RegionNames : IEquatable<RegionNames>
{
    private readonly string[] _names;

    public RegionNames(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = [.. names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>No names known.</summary>
    public static RegionNames None { get; } = new([]);

    public int Count => _names.Length;

    public bool Contains(string name) => Array.BinarySearch(_names, name, StringComparer.Ordinal) >= 0;

    public bool Equals(RegionNames? other) => other is not null && _names.AsSpan().SequenceEqual(other._names);

    public override bool Equals(object? obj) => Equals(obj as RegionNames);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var name in _names)
        {
            hash.Add(name, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => string.Join(", ", _names);
}
