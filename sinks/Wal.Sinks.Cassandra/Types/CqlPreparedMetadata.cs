using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Types;

/// <summary>
/// The bind-marker &lt;metadata&gt; of a Prepared result (spec 4.2.5.4): one column spec per
/// marker, in order, and which markers make up the partition key.
/// </summary>
public sealed record CqlPreparedMetadata(int Flags, IReadOnlyList<ushort> PartitionKeyIndexes, IReadOnlyList<CqlColumnSpec> Variables)
{
    public static CqlPreparedMetadata Read(ref CqlReader reader)
    {
        var flags = reader.ReadInt();
        var count = reader.ReadInt();
        var pkCount = reader.ReadInt();
        if (count < 0 || pkCount < 0)
        {
            throw new CqlProtocolException($"Prepared metadata cannot have {count} variables and {pkCount} key indexes.");
        }

        reader.EnsureRoomFor(pkCount, 2, "partition key indexes");
        var pk = new ushort[pkCount];
        for (var i = 0; i < pkCount; i++)
        {
            pk[i] = reader.ReadShort();
        }

        return new CqlPreparedMetadata(flags, pk, CqlColumnSpec.ReadList(ref reader, flags, count));
    }
}
