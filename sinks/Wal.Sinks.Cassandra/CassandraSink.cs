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
/// the delivery's version. Cassandra keeps, per cell, the value with the highest write timestamp,
/// so redelivering a version, or delivering an older one after a newer one, leaves the row as the
/// newest write left it: idempotent without a read.
/// </summary>
public sealed class CassandraSink : ISink
{
    private readonly CassandraSinkOptions _options;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly ConcurrentDictionary<string, CqlSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<CassandraInsertStatement, string> _statements = new();

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
        var key = CassandraInsertStatement.For(target.Keyspace, target.Table, [.. row.Columns.Select(c => c.Key)]);
        var query = _statements.GetOrAdd(key, k => k.ToCql());
        var prepared = await session.PrepareAsync(query, cancellationToken);
        var variables = prepared.Metadata.Variables;
        if (variables.Count != row.Columns.Count + 1)
        {
            throw new CqlProtocolException($"The prepared INSERT has {variables.Count} bind markers; {row.Columns.Count + 1} were expected.");
        }

        var values = new CqlValue[variables.Count];
        for (var i = 0; i < row.Columns.Count; i++)
        {
            var (column, value) = row.Columns[i];
            values[i] = CassandraJsonValue.ToCql(column, value, variables[i].Type);
        }

        // USING TIMESTAMP ?: the version is the cell write time, so last-write-wins is by version.
        values[^1] = Types.CqlTypeCodec.Bigint(delivery.Version);
        await session.ExecuteAsync(prepared, new CqlQueryParameters(_options.Consistency) { Values = values }, cancellationToken);
    }
}
