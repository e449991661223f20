using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>
/// A cluster as one caller sees it: one multiplexed connection, reopened on the next contact point
/// after it is lost, and prepared statements cached by query text and prepared again when a node
/// answers UNPREPARED (it restarted, or the connection moved to a node that never saw them).
/// </summary>
public sealed class CqlSession : IAsyncDisposable
{
    private readonly CqlSessionOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly ConcurrentDictionary<string, CqlPreparedStatement> _prepared = new(StringComparer.Ordinal);
    private CqlConnection? _connection;
    private int _nextContactPoint;

    public CqlSession(CqlSessionOptions options, ILogger<CqlSession>? logger = null)
    {
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger<CqlSession>.Instance;
    }

    /// <summary>The open connection, or a new one to the first contact point that answers.</summary>
    public async Task<CqlConnection> GetConnectionAsync(CancellationToken cancellationToken = default)
    {
        var current = Volatile.Read(ref _connection);
        if (current is { IsClosed: false })
        {
            return current;
        }

        await _connectLock.WaitAsync(cancellationToken);
        try
        {
            if (_connection is { IsClosed: false })
            {
                return _connection;
            }

            if (_connection is not null)
            {
                CqlSessionLog.ConnectionLost(_logger, _connection.Endpoint, _connection.CloseReason);
                await _connection.DisposeAsync();
            }

            _connection = await ConnectAnyAsync(cancellationToken);
            return _connection;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>Prepares <paramref name="query"/> once per session; later calls return the cached statement.</summary>
    public async Task<CqlPreparedStatement> PrepareAsync(string query, CancellationToken cancellationToken = default)
    {
        if (_prepared.TryGetValue(query, out var statement))
        {
            return statement;
        }

        var connection = await GetConnectionAsync(cancellationToken);
        return await PrepareOnAsync(connection, query, cancellationToken);
    }

    /// <summary>EXECUTE, preparing the statement again and retrying once if the node no longer knows it.</summary>
    public async Task<CqlResponse> ExecuteAsync(CqlPreparedStatement statement, CqlQueryParameters parameters, CancellationToken cancellationToken = default)
    {
        var connection = await GetConnectionAsync(cancellationToken);
        try
        {
            return await connection.ExecuteAsync(statement.Id, parameters, cancellationToken);
        }
        catch (CqlServerErrorException e) when (e.Error.Code == CqlErrorCode.Unprepared)
        {
            CqlSessionLog.Repreparing(_logger, connection.Endpoint);
            var again = await PrepareOnAsync(connection, statement.Query, cancellationToken);
            return await connection.ExecuteAsync(again.Id, parameters, cancellationToken);
        }
    }

    /// <summary>BATCH; an UNPREPARED answer prepares the named statement again and retries once.</summary>
    public async Task<CqlResponse> BatchAsync(BatchRequest batch, CancellationToken cancellationToken = default)
    {
        var connection = await GetConnectionAsync(cancellationToken);
        try
        {
            return await connection.BatchAsync(batch, cancellationToken);
        }
        catch (CqlServerErrorException e) when (e.Error.Details is UnpreparedDetails unprepared && FindQuery(unprepared.PreparedId) is { } query)
        {
            CqlSessionLog.Repreparing(_logger, connection.Endpoint);
            var again = await PrepareOnAsync(connection, query, cancellationToken);
            var statements = batch.Statements
                .Select(s => s.PreparedId is { } id && id.Span.SequenceEqual(unprepared.PreparedId.Span) ? CqlBatchStatement.Prepared(again.Id, s.Values) : s)
                .ToList();
            return await connection.BatchAsync(batch with { Statements = statements }, cancellationToken);
        }
    }

    public async Task<CqlResponse> QueryAsync(string query, CqlQueryParameters parameters, CancellationToken cancellationToken = default)
    {
        var connection = await GetConnectionAsync(cancellationToken);
        return await connection.QueryAsync(query, parameters, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _connectLock.Dispose();
    }

    private async Task<CqlPreparedStatement> PrepareOnAsync(CqlConnection connection, string query, CancellationToken cancellationToken)
    {
        var result = await connection.PrepareAsync(query, cancellationToken);
        var statement = new CqlPreparedStatement(query, result.Id, result.Metadata);
        _prepared[query] = statement;
        return statement;
    }

    private string? FindQuery(ReadOnlyMemory<byte> preparedId) =>
        _prepared.Values.FirstOrDefault(s => s.Id.Span.SequenceEqual(preparedId.Span))?.Query;

    private async Task<CqlConnection> ConnectAnyAsync(CancellationToken cancellationToken)
    {
        CqlException? last = null;
        var everyNodeRefusedV4 = true;
        for (var attempt = 0; attempt < _options.ContactPoints.Count; attempt++)
        {
            var index = (_nextContactPoint + attempt) % _options.ContactPoints.Count;
            try
            {
                var connection = await CqlConnection.OpenAsync(_options.ForContactPoint(_options.ContactPoints[index]), cancellationToken);
                _nextContactPoint = index;
                CqlSessionLog.Connected(_logger, connection.Endpoint);
                return connection;
            }
            catch (CqlException e) when (e.IsRetriable || e is CqlProtocolVersionException)
            {
                // Unreachable, timed out or overloaded: another node may do. So may one of a newer
                // version, mid-upgrade. Bad credentials are not retriable and end the search.
                last = e;
                everyNodeRefusedV4 &= e is CqlProtocolVersionException;
                CqlSessionLog.ContactPointFailed(_logger, _options.ContactPoints[index], e);
            }
        }

        if (everyNodeRefusedV4 && last is CqlProtocolVersionException)
        {
            throw new CqlProtocolVersionException($"No contact point speaks protocol v4 ({string.Join(", ", _options.ContactPoints)}): {last.Message}");
        }

        // Start from the next one next time, so a dead first contact point does not cost every reconnect.
        _nextContactPoint = (_nextContactPoint + 1) % _options.ContactPoints.Count;
        throw new CqlConnectionException($"No contact point answered ({string.Join(", ", _options.ContactPoints)}): {last?.Message}", last);
    }
}
