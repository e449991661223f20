using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Wal.Schemas.V1;
using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// Writes each delivery as one row: the payload is a JSON object of column → value (see
/// docs/cassandra.md), written by a prepared <c>INSERT … USING TIMESTAMP ?</c> whose timestamp is
/// the delivery's version, or with <c>"$delete": true</c> deleted by <c>DELETE … USING TIMESTAMP ?</c>. Cassandra keeps, per cell, the value with the highest write timestamp,
/// so redelivering a version, or delivering an older one after a newer one, leaves the row as the
/// newest write left it: idempotent without a read.
/// </summary>
public sealed class CassandraSink : ISink
{
    private readonly CassandraSinkOptions _options;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly ConcurrentDictionary<string, CqlSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<CassandraStatement, string> _statements = new();

    public CassandraSink(CassandraSinkOptions options, ILoggerFactory? loggerFactory = null)
    {
        options.Validate();
        _options = options;
        _loggerFactory = loggerFactory;
    }

    public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        if (delivery.Target.DestinationCase != Target.DestinationOneofCase.Cassandra)
        {
            return DeliveryResult.Permanent($"The Cassandra sink got a {delivery.Target.DestinationCase} target.");
        }

        var target = delivery.Target.Cassandra;
        if (!_options.Clusters.TryGetValue(target.Cluster, out var clusterOptions))
        {
            return DeliveryResult.Permanent($"No Cassandra cluster named '{target.Cluster}' is configured.");
        }

        if (delivery.Version < 0 || string.IsNullOrEmpty(target.Keyspace) || string.IsNullOrEmpty(target.Table))
        {
            return DeliveryResult.Permanent($"Cannot write version {delivery.Version} to table '{target.Keyspace}.{target.Table}'.");
        }

        try
        {
            var session = _sessions.GetOrAdd(target.Cluster, _ => new CqlSession(clusterOptions, _loggerFactory?.CreateLogger<CqlSession>()));
            await WriteRowAsync(session, target, delivery, cancellationToken);
            return DeliveryResult.Delivered;
        }
        catch (CassandraPayloadException e)
        {
            return DeliveryResult.Permanent(e.Message);
        }
        catch (CqlException e)
        {
            return e.IsRetriable ? DeliveryResult.Retriable(e.Message) : DeliveryResult.Permanent(e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions.Values)
        {
            await session.DisposeAsync();
        }
    }

    private async Task WriteRowAsync(CqlSession session, CassandraTarget target, Delivery delivery, CancellationToken cancellationToken)
    {
        var row = CassandraRow.Parse(delivery.Payload);
        var statement = CassandraStatement.For(target.Keyspace, target.Table, row);
        var query = _statements.GetOrAdd(statement, s => s.ToCql());
        var prepared = await session.PrepareAsync(query, cancellationToken);
        var variables = prepared.Metadata.Variables;
        if (variables.Count != row.Columns.Count + 1)
        {
            throw new CqlProtocolException($"The prepared statement has {variables.Count} bind markers; {row.Columns.Count + 1} were expected.");
        }

        var values = new CqlValue[variables.Count];
        for (var i = 0; i < row.Columns.Count; i++)
        {
            var (column, value) = row.Columns[i];
            var index = statement.ColumnIndex(i);
            values[index] = CassandraJsonValue.ToCql(column, value, variables[index].Type);
        }

        // USING TIMESTAMP ?: the version is the write time of every cell (or of the tombstone), so
        // last-write-wins is by version.
        values[statement.TimestampIndex(row.Columns.Count)] = Types.CqlTypeCodec.Bigint(delivery.Version);
        await session.ExecuteAsync(prepared, new CqlQueryParameters(_options.Consistency) { Values = values }, cancellationToken);
    }
}
