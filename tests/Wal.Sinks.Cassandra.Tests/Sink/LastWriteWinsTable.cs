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
/// value with the highest write timestamp, which is how Cassandra reconciles writes.
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
        var names = ColumnList().Match(query).Groups[1].Value.Split(", ").Select(c => c.Trim('"')).ToArray();
        if (names.FirstOrDefault(n => !_columns.ContainsKey(n)) is { } unknown)
        {
            return PeerReplies.Error(Errors.CqlErrorCode.Invalid, $"Undefined column name {unknown}");
        }

        var id = BitConverter.GetBytes(query.GetHashCode(StringComparison.Ordinal));
        _preparedQueries[Convert.ToHexString(id)] = string.Join(',', names);
        var variables = names.Select(n => (n, _columns[n])).Append(("[timestamp]", CqlTypeCode.Bigint)).ToArray();
        return PeerReplies.Prepared(id, variables);
    }

    private PeerAction Apply(ReceivedFrame frame)
    {
        var (id, _, values) = frame.Execute;
        var names = _preparedQueries[Convert.ToHexString(id)].Split(',');
        var timestamp = BinaryPrimitives.ReadInt64BigEndian(values[^1]);
        var key = System.Text.Encoding.UTF8.GetString(values[Array.IndexOf(names, "id")]!);
        for (var i = 0; i < names.Length; i++)
        {
            var value = values[i];
            _cells.AddOrUpdate($"{key}/{names[i]}", (value, timestamp), (_, old) => timestamp > old.Timestamp ? (value, timestamp) : old);
        }

        return PeerReplies.Void();
    }

    [GeneratedRegex(@"\(([^)]*)\) VALUES")]
    private static partial Regex ColumnList();
}
