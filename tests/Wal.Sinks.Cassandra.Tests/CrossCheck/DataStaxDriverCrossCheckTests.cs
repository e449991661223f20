using System.Text.Json;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.CrossCheck;

/// <summary>
/// Our request frames compared with those of an independent implementation: the DataStax Python
/// driver (Debian's python3-cassandra), encoding the same messages for protocol v4. The hand-written
/// fixtures check the codec against our reading of the spec; this checks that reading against a
/// driver that talks to real Cassandra every day.
/// </summary>
public sealed class DataStaxDriverCrossCheckTests
{
    private static readonly Lazy<Dictionary<string, string>> DriverFrames = new(EncodeWithDriver);

    public static TheoryData<string> Cases => ["startup", "options", "auth_response", "query", "prepare", "execute", "batch", "batch_serial"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeRequest_SameMessageAsTheDriver_IsByteIdentical(string name)
    {
        var (request, stream) = Ours(name);

        Assert.Equal(DriverFrames.Value[name], Convert.ToHexStringLower(CqlFrameCodec.EncodeRequest(request, stream)));
    }

    private static (CqlRequest Request, short Stream) Ours(string name) => name switch
    {
        "startup" => (StartupRequest.Default, 1),
        "options" => (OptionsRequest.Instance, 7),
        "auth_response" => (AuthResponseRequest.Plain("cass", "word"), 2),
        "query" => (new QueryRequest("SELECT v FROM t WHERE k=?", new CqlQueryParameters(CqlConsistency.LocalQuorum)
        {
            Values = [CqlTypeCodec.Text("a")],
            PageSize = 5000,
            PagingState = new byte[] { 0xAB, 0xCD },
            SerialConsistency = CqlConsistency.LocalSerial,
            DefaultTimestamp = 0x0005_E54C_3D5E_1A00,
        }), 4),
        "prepare" => (new PrepareRequest("INSERT INTO t (k) VALUES (?) ;"), 5),
        "execute" => (new ExecuteRequest(new byte[] { 0xCA, 0xFE }, new CqlQueryParameters(CqlConsistency.LocalQuorum)
        {
            Values = [CqlTypeCodec.Int(42), CqlValue.Null, CqlValue.Unset],
            DefaultTimestamp = 12345,
        }), 256),
        "batch" => (new BatchRequest(
            CqlBatchType.Unlogged,
            [CqlBatchStatement.Simple("UPDATE t ?;", [CqlTypeCodec.Text("x")]), CqlBatchStatement.Prepared(new byte[] { 0xCA, 0xFE }, [CqlTypeCodec.Bigint(7)])],
            CqlConsistency.Quorum) { DefaultTimestamp = 99 }, 6),
        "batch_serial" => (new BatchRequest(CqlBatchType.Logged, [CqlBatchStatement.Prepared(new byte[] { 0x07 }, [])], CqlConsistency.All)
        {
            SerialConsistency = CqlConsistency.Serial,
            DefaultTimestamp = 1,
        }, 8),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private static Dictionary<string, string> EncodeWithDriver() =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(DataStaxDriver.Run("encode_with_datastax_driver.py"))!;
}
