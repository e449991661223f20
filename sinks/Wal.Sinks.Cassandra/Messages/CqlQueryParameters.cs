using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>
/// The &lt;query_parameters&gt; of QUERY and EXECUTE (spec 4.1.4). The flags byte is derived from
/// which optional parts are present, so it can never disagree with the body.
/// </summary>
public sealed record CqlQueryParameters(CqlConsistency Consistency)
{
    private const byte ValuesFlag = 0x01;
    private const byte SkipMetadataFlag = 0x02;
    private const byte PageSizeFlag = 0x04;
    private const byte PagingStateFlag = 0x08;
    private const byte SerialConsistencyFlag = 0x10;
    private const byte DefaultTimestampFlag = 0x20;

    /// <summary>Positional bound values; empty means no Values flag.</summary>
    public IReadOnlyList<CqlValue> Values { get; init; } = [];

    public bool SkipMetadata { get; init; }

    public int? PageSize { get; init; }

    public ReadOnlyMemory<byte>? PagingState { get; init; }

    public CqlConsistency? SerialConsistency { get; init; }

    /// <summary>Default write timestamp in microseconds; a USING TIMESTAMP in the query overrides it.</summary>
    public long? DefaultTimestamp { get; init; }

    public byte Flags =>
        (byte)((Values.Count > 0 ? ValuesFlag : 0)
            | (SkipMetadata ? SkipMetadataFlag : 0)
            | (PageSize.HasValue ? PageSizeFlag : 0)
            | (PagingState.HasValue ? PagingStateFlag : 0)
            | (SerialConsistency.HasValue ? SerialConsistencyFlag : 0)
            | (DefaultTimestamp.HasValue ? DefaultTimestampFlag : 0));

    /// <summary>&lt;consistency&gt;&lt;flags&gt;[values][page size][paging state][serial consistency][timestamp].</summary>
    public void WriteTo(CqlWriter writer)
    {
        writer.WriteConsistency(Consistency);
        writer.WriteByte(Flags);
        if (Values.Count > 0)
        {
            writer.WriteShort(checked((ushort)Values.Count));
            foreach (var value in Values)
            {
                writer.WriteValue(value);
            }
        }

        if (PageSize is { } pageSize)
        {
            writer.WriteInt(pageSize);
        }

        if (PagingState is { } pagingState)
        {
            writer.WriteBytes(pagingState.Span);
        }

        if (SerialConsistency is { } serial)
        {
            writer.WriteConsistency(serial);
        }

        if (DefaultTimestamp is { } timestamp)
        {
            writer.WriteLong(timestamp);
        }
    }
}
