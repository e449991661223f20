using System.Text.Json;
using System.Text.Json.Nodes;
using Wal.Sinks.Cassandra.Tests.Protocol;

namespace Wal.Sinks.Cassandra.Tests.CrossCheck;

/// <summary>
/// The hand-written response fixtures, decoded by the DataStax Python driver: it must read from
/// them what our decoder reads (CqlResponseDecoderTests), so the fixtures are frames a real server
/// could send and not just frames our decoder happens to accept.
/// </summary>
public sealed class DataStaxDriverDecodeCrossCheckTests
{
    private static readonly Lazy<JsonNode> Decoded = new(() =>
    {
        var frames = new Dictionary<string, string>
        {
            ["authenticate"] = Convert.ToHexString(ResponseFixtures.Authenticate),
            ["rows"] = Convert.ToHexString(ResponseFixtures.Rows),
            ["prepared"] = Convert.ToHexString(ResponseFixtures.Prepared),
            ["schema_change"] = Convert.ToHexString(ResponseFixtures.SchemaChangeTable),
            ["unavailable"] = Convert.ToHexString(ResponseFixtures.Unavailable),
            ["write_timeout"] = Convert.ToHexString(ResponseFixtures.WriteTimeoutCounter),
            ["unprepared"] = Convert.ToHexString(ResponseFixtures.Unprepared),
        };
        return JsonNode.Parse(DataStaxDriver.Run("decode_with_datastax_driver.py", JsonSerializer.Serialize(frames)))!;
    });

    [Fact]
    public void Authenticate_DriverReadsTheAuthenticator() =>
        Assert.Equal("org.apache.cassandra.auth.PasswordAuthenticator", (string?)Decoded.Value["authenticate"]!["authenticator"]);

    [Fact]
    public void Rows_DriverReadsTheSameColumnsAndValues()
    {
        var rows = Decoded.Value["rows"]!;

        Assert.Equal("""["k","n","i","b","s","u","d"]""", rows["columns"]!.ToJsonString());
        var expected = JsonNode.Parse("""[["k1",-2,256,true,"2023-11-14T22:13:20+00:00","12345678-9abc-4def-8123-456789abcdef","010203"],["k2",null,null,null,null,null,null]]""");
        Assert.True(JsonNode.DeepEquals(expected, rows["rows"]), rows["rows"]!.ToJsonString());
        Assert.Equal(DateTimeOffset.Parse("2023-11-14T22:13:20Z", System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeMilliseconds(0x18BCFE56800));
    }

    [Fact]
    public void Prepared_DriverReadsIdKeyIndexesAndVariables()
    {
        var prepared = Decoded.Value["prepared"]!;

        Assert.Equal("cafe", (string?)prepared["id"]);
        Assert.Equal("[0]", prepared["pk"]!.ToJsonString());
        Assert.Equal("""["k","[timestamp]"]""", prepared["variables"]!.ToJsonString());
        Assert.Equal("""["varchar","bigint"]""", prepared["types"]!.ToJsonString());
    }

    [Fact]
    public void SchemaChange_DriverReadsTheTableChange()
    {
        var change = Decoded.Value["schema_change"]!;

        Assert.Equal(("CREATED", "TABLE", "ks", "t"), ((string?)change["change_type"], (string?)change["target_type"], (string?)change["keyspace"], (string?)change["table"]));
    }

    [Fact]
    public void Errors_DriverReadsTheSameCodesAndDetails()
    {
        var unavailable = Decoded.Value["unavailable"]!;
        var writeTimeout = Decoded.Value["write_timeout"]!;
        var unprepared = Decoded.Value["unprepared"]!;

        Assert.Equal("""{"alive_replicas":1,"consistency":6,"required_replicas":2}""", unavailable["info"]!.ToJsonString());
        Assert.Equal(0x1000, (int)unavailable["code"]!);
        Assert.Equal("""{"consistency":4,"received_responses":1,"required_responses":2,"write_type":"COUNTER"}""", writeTimeout["info"]!.ToJsonString());
        Assert.Equal(0x2500, (int)unprepared["code"]!);
        Assert.Equal("cafe", (string?)unprepared["info"]);
    }
}
