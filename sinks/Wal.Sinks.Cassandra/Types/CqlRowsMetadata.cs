using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Types;

/// <summary>
/// The &lt;metadata&gt; of a Rows result (spec 4.2.5.2), also the &lt;result_metadata&gt; of a
/// Prepared result. With No_metadata the column specs are absent and <see cref="Columns"/> is empty.
/// </summary>
public sealed record CqlRowsMetadata(int Flags, int ColumnCount, ReadOnlyMemory<byte>? PagingState, IReadOnlyList<CqlColumnSpec> Columns)
{
    private const int HasMorePagesFlag = 0x0002;
    private const int NoMetadataFlag = 0x0004;

    public bool HasMorePages => (Flags & HasMorePagesFlag) != 0;

    public bool NoMetadata => (Flags & NoMetadataFlag) != 0;

    public static CqlRowsMetadata Read(ref CqlReader reader)
    {
        var flags = reader.ReadInt();
        var count = reader.ReadInt();
        if (count < 0)
        {
            throw new CqlProtocolException($"A result cannot have {count} columns.");
        }

        ReadOnlyMemory<byte>? pagingState = (flags & HasMorePagesFlag) != 0 ? reader.ReadBytes() : null;
        var columns = (flags & NoMetadataFlag) != 0 ? [] : CqlColumnSpec.ReadList(ref reader, flags, count);
        return new CqlRowsMetadata(flags, count, pagingState, columns);
    }
}
