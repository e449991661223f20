using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Tests.Peer;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.Sink;

/// <summary>
/// A script for the peer that behaves like one Cassandra table for the sink's INSERTs: it prepares
/// any INSERT over its known columns and applies EXECUTEs cell by cell, keeping for each cell the
/// value with the highest write timestamp, which is how Cassandra reconciles writes; a DELETE by
/// key writes tombstones that win ties.
/// </summary>
internal sealed partial class LastWriteWinsTable
{
    private readonly IReadOnlyDictionary<string, CqlTypeCode> _columns;
    private readonly ConcurrentDictionary<string, string> _preparedQueries = new();
    private readonly ConcurrentDictionary<string, (byte[]? Value, long Timestamp)> _cells = new();

    public LastWriteWinsTable(IReadOnlyDictionary<string, CqlTypeCode> columns)
    {
        _columns = columns;
    }

    /// <summary>The cell (partition key value of column "id", column) as last-write-wins left it.</summary>
    public byte[]? Cell(string id, string column) => _cells.TryGetValue($"{id}/{column}", out var cell) ? cell.Value : null;

    public PeerAction Answer(ReceivedFrame frame) => frame.Opcode switch
    {
        CqlOpcode.Prepare => Prepare(frame.Query),
        CqlOpcode.Execute => Apply(frame),
        _ => ScriptedCqlPeer.Default(frame),
    };

    private PeerAction Prepare(string query)
    {
        var isDelete = query.StartsWith("DELETE", StringComparison.Ordinal);
        var names = isDelete
            ? [.. KeyColumn().Matches(query).Select(m => m.Groups[1].Value)]
            : ColumnList().Match(query).Groups[1].Value.Split(", ").Select(c => c.Trim('"')).ToArray();
        if (names.FirstOrDefault(n => !_columns.ContainsKey(n)) is { } unknown)
        {
            return PeerReplies.Error(Errors.CqlErrorCode.Invalid, $"Undefined column name {unknown}");
        }

        var id = BitConverter.GetBytes(query.GetHashCode(StringComparison.Ordinal));
        _preparedQueries[Convert.ToHexString(id)] = (isDelete ? "-" : "+") + string.Join(',', names);
        var columns = names.Select(n => (n, _columns[n]));
        var timestamp = ("[timestamp]", CqlTypeCode.Bigint);
        return PeerReplies.Prepared(id, [.. isDelete ? columns.Prepend(timestamp) : columns.Append(timestamp)]);
    }

    private PeerAction Apply(ReceivedFrame frame)
    {
        var (id, _, values) = frame.Execute;
        var prepared = _preparedQueries[Convert.ToHexString(id)];
        var names = prepared[1..].Split(',');
        if (prepared[0] == '-')
        {
            // A row delete: a tombstone at its timestamp shadows every cell written at or before it.
            var deletedAt = BinaryPrimitives.ReadInt64BigEndian(values[0]);
            var row = System.Text.Encoding.UTF8.GetString(values[1 + Array.IndexOf(names, "id")]!);
            foreach (var cell in _cells.Keys.Where(k => k.StartsWith(row + "/", StringComparison.Ordinal)))
            {
                _cells.AddOrUpdate(cell, (null, deletedAt), (_, old) => deletedAt >= old.Timestamp ? (null, deletedAt) : old);
            }

            return PeerReplies.Void();
        }

        var timestamp = BinaryPrimitives.ReadInt64BigEndian(values[^1]);
        var key = System.Text.Encoding.UTF8.GetString(values[Array.IndexOf(names, "id")]!);
        for (var i = 0; i < names.Length; i++)
        {
            var value = values[i];
            _cells.AddOrUpdate($"{key}/{names[i]}", (value, timestamp), (_, old) => timestamp > old.Timestamp ? (value, timestamp) : old);
        }

        return PeerReplies.Void();
    }

    [GeneratedRegex("\"([^\"]+)\" = \\?")]
    private static partial Regex KeyColumn();

    [GeneratedRegex(@"\(([^)]*)\) VALUES")]
    private static partial Regex ColumnList();
}
