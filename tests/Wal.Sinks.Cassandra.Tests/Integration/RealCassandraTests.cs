using System.Text;
using Wal.Schemas.V1;
using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.Integration;

/// <summary>
/// The sink and client against a real Cassandra (WAL_CASSANDRA_CONTACT_POINTS, optionally
/// WAL_CASSANDRA_USERNAME and WAL_CASSANDRA_PASSWORD). A single node with SimpleStrategy RF 1.
/// </summary>
public sealed class RealCassandraTests
{
    private const string Keyspace = "wal_it";
    private const string Table = "rows";

    [CassandraFact]
    public async Task DeliverAsync_ThenOlderVersion_RowKeepsTheNewerVersion()
    {
        await using var session = new CqlSession(SessionOptions());
        await CreateSchemaAsync(session);
        await using var sink = new CassandraSink(new CassandraSinkOptions { Clusters = new Dictionary<string, CqlSessionOptions> { ["it"] = SessionOptions() } });
        var id = Guid.NewGuid().ToString("N");

        var newer = await sink.DeliverAsync(Row(id, """{"n": 2, "ok": true, "at": "2026-11-22T00:00:00Z", "data": "AQI="}""", version: 2_000_000));
        var older = await sink.DeliverAsync(Row(id, """{"n": 1, "ok": false}""", version: 1_000_000));
        var again = await sink.DeliverAsync(Row(id, """{"n": 2, "ok": true, "at": "2026-11-22T00:00:00Z", "data": "AQI="}""", version: 2_000_000));

        Assert.Equal([DeliveryResult.Delivered, DeliveryResult.Delivered, DeliveryResult.Delivered], [newer, older, again]);
        var row = await ReadAsync(session, id);
        Assert.Equal(2L, row.Get(0));
        Assert.Equal(true, row.Get(1));
        Assert.Equal(2_000_000L, row.Get(2));
        Assert.Equal(new byte[] { 1, 2 }, row.Get(3));
    }

    [CassandraFact]
    public async Task DeliverAsync_DeleteOlderThenNewerThanTheRow_OnlyTheNewerDeleteRemovesIt()
    {
        await using var session = new CqlSession(SessionOptions());
        await CreateSchemaAsync(session);
        await using var sink = new CassandraSink(new CassandraSinkOptions { Clusters = new Dictionary<string, CqlSessionOptions> { ["it"] = SessionOptions() } });
        var id = Guid.NewGuid().ToString("N");

        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row(id, """{"n": 5}""", version: 2_000_000)));
        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row(id, """{"$delete": true}""", version: 1_000_000)));
        Assert.Equal(5L, (await ReadAsync(session, id)).Get(0));
        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row(id, """{"$delete": true}""", version: 3_000_000)));

        Assert.Empty(await ReadRowsAsync(session, id));
    }

    [CassandraFact]
    public async Task DeliverAsync_UnknownColumn_IsPermanent()
    {
        await using var session = new CqlSession(SessionOptions());
        await CreateSchemaAsync(session);
        await using var sink = new CassandraSink(new CassandraSinkOptions { Clusters = new Dictionary<string, CqlSessionOptions> { ["it"] = SessionOptions() } });

        var result = await sink.DeliverAsync(Row("x", """{"no_such_column": 1}""", version: 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
    }

    [CassandraFact]
    public async Task BatchAsync_LoggedWithDefaultTimestamp_AppliesEveryStatementAtThatTimestamp()
    {
        await using var session = new CqlSession(SessionOptions());
        await CreateSchemaAsync(session);
        var statement = await session.PrepareAsync($"INSERT INTO {Keyspace}.{Table} (id, n) VALUES (?, ?)");
        var ids = new[] { Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N") };

        await session.BatchAsync(new BatchRequest(
            CqlBatchType.Logged,
            [.. ids.Select((id, i) => CqlBatchStatement.Prepared(statement.Id, [CqlTypeCodec.Text(id), CqlTypeCodec.Bigint(i)]))],
            CqlConsistency.LocalQuorum) { DefaultTimestamp = 777 });

        foreach (var id in ids)
        {
            Assert.Equal(777L, (await ReadAsync(session, id)).Get(2));
        }
    }

    [CassandraFact]
    public async Task QueryAsync_SyntaxError_ThrowsNonRetriableSyntaxError()
    {
        await using var session = new CqlSession(SessionOptions());

        var e = await Assert.ThrowsAsync<CqlServerErrorException>(() => session.QueryAsync("SELEC nothing", new CqlQueryParameters(CqlConsistency.One)));

        Assert.Equal(CqlErrorCode.SyntaxError, e.Error.Code);
        Assert.False(e.IsRetriable);
    }

    private static async Task CreateSchemaAsync(CqlSession session)
    {
        var ddl = new CqlQueryParameters(CqlConsistency.One);
        await session.QueryAsync($"CREATE KEYSPACE IF NOT EXISTS {Keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}", ddl);
        await session.QueryAsync($"CREATE TABLE IF NOT EXISTS {Keyspace}.{Table} (id text PRIMARY KEY, n bigint, ok boolean, at timestamp, data blob)", ddl);
    }

    private static async Task<CqlRow> ReadAsync(CqlSession session, string id) => Assert.Single(await ReadRowsAsync(session, id));

    private static async Task<IReadOnlyList<CqlRow>> ReadRowsAsync(CqlSession session, string id)
    {
        var rows = Assert.IsType<RowsResult>(await session.QueryAsync(
            $"SELECT n, ok, WRITETIME(n), data FROM {Keyspace}.{Table} WHERE id = ?",
            new CqlQueryParameters(CqlConsistency.LocalQuorum) { Values = [CqlTypeCodec.Text(id)] }));
        return rows.Rows;
    }

    private static Delivery Row(string id, string columnsJson, long version)
    {
        var json = $$"""{"id": "{{id}}", {{columnsJson.TrimStart('{')}}""";
        return new Delivery(
            $"it-{id}-{version}",
            new Target { Cassandra = new CassandraTarget { Cluster = "it", Keyspace = Keyspace, Table = Table } },
            Encoding.UTF8.GetBytes(json),
            version);
    }

    private static CqlSessionOptions SessionOptions() => new()
    {
        ContactPoints = Environment.GetEnvironmentVariable(CassandraFactAttribute.ContactPointsVariable)!
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Username = Environment.GetEnvironmentVariable("WAL_CASSANDRA_USERNAME"),
        Password = Environment.GetEnvironmentVariable("WAL_CASSANDRA_PASSWORD"),
        RequestTimeout = TimeSpan.FromSeconds(30),
    };
}
