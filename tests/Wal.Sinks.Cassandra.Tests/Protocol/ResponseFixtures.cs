using static Wal.Sinks.Cassandra.Tests.Protocol.Hand;

namespace Wal.Sinks.Cassandra.Tests.Protocol;

/// <summary>
/// Response frames written by hand from native_protocol_v4.spec; decoded by our client in
/// CqlResponseDecoderTests and by the DataStax driver in the cross-check.
/// </summary>
internal static class ResponseFixtures
{
    public static byte[] Authenticate { get; } = Frame(
        "x:84 00 00 00 03", "x:00 00 00 31", // 2: v4 response, stream 0, AUTHENTICATE, length 49
        "x:00 2F", "org.apache.cassandra.auth.PasswordAuthenticator"); // 4.2.3 [string]

    public static byte[] Rows { get; } = Frame(
        "x:84 00 00 02 08", "x:00 00 00 9E", // RESULT, length 158
        "x:00 00 00 02", // 4.2.5 kind Rows
        "x:00 00 00 01", "x:00 00 00 07", // 4.2.5.2 <flags> Global_tables_spec, <columns_count> 7
        "x:00 02", "ks", "x:00 01", "t", // <global_table_spec>
        "x:00 01", "k", "x:00 0D", // varchar
        "x:00 01", "n", "x:00 02", // bigint
        "x:00 01", "i", "x:00 09", // int
        "x:00 01", "b", "x:00 04", // boolean
        "x:00 01", "s", "x:00 0B", // timestamp
        "x:00 01", "u", "x:00 0C", // uuid
        "x:00 01", "d", "x:00 03", // blob
        "x:00 00 00 02", // <rows_count>
        "x:00 00 00 02", "k1", // row 1: [bytes] per column (section 6 encodings)
        "x:00 00 00 08 FF FF FF FF FF FF FF FE", // bigint -2
        "x:00 00 00 04 00 00 01 00", // int 256
        "x:00 00 00 01 01", // boolean true
        "x:00 00 00 08 00 00 01 8B CF E5 68 00", // timestamp, ms since epoch
        "x:00 00 00 10 12 34 56 78 9A BC 4D EF 81 23 45 67 89 AB CD EF", // uuid
        "x:00 00 00 03 01 02 03", // blob
        "x:00 00 00 02", "k2", // row 2: key, then six nulls
        "x:FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF");

    public static byte[] Prepared { get; } = Frame(
        "x:84 00 00 09 08", "x:00 00 00 39", // RESULT, length 57
        "x:00 00 00 04", // 4.2.5 kind Prepared
        "x:00 02 CA FE", // 4.2.5.4 <id> [short bytes]
        "x:00 00 00 01", "x:00 00 00 02", "x:00 00 00 01", "x:00 00", // <flags> global, 2 columns, 1 pk index: 0
        "x:00 02", "ks", "x:00 01", "t", // <global_table_spec>
        "x:00 01", "k", "x:00 0D", // col_spec: k varchar
        "x:00 0B", "[timestamp]", "x:00 02", // col_spec: the USING TIMESTAMP marker, bigint
        "x:00 00 00 04", "x:00 00 00 00"); // <result_metadata>: No_metadata, 0 columns

    public static byte[] SchemaChangeTable { get; } = Frame(
        "x:84 00 00 03 08", "x:00 00 00 1B", // RESULT, length 27
        "x:00 00 00 05", // kind Schema_change
        "x:00 07", "CREATED", "x:00 05", "TABLE", "x:00 02", "ks", "x:00 01", "t"); // 4.2.5.5 / 4.2.6

    public static byte[] Unavailable { get; } = Frame(
        "x:84 00 00 04 00", "x:00 00 00 14", // ERROR, length 20
        "x:00 00 10 00", "x:00 04", "down", // 9: code Unavailable, [string] message
        "x:00 06", "x:00 00 00 02", "x:00 00 00 01"); // <cl> LOCAL_QUORUM, <required> 2, <alive> 1

    public static byte[] WriteTimeoutCounter { get; } = Frame(
        "x:84 00 00 04 00", "x:00 00 00 1B", // ERROR, length 27
        "x:00 00 11 00", "x:00 02", "wt", // 9: code Write_timeout
        "x:00 04", "x:00 00 00 01", "x:00 00 00 02", "x:00 07", "COUNTER"); // <cl><received><blockfor><writeType>

    public static byte[] Unprepared { get; } = Frame(
        "x:84 00 00 04 00", "x:00 00 00 0B", // ERROR, length 11
        "x:00 00 25 00", "x:00 01", "u", "x:00 02 CA FE"); // 9: Unprepared, message, [short bytes] id
}
