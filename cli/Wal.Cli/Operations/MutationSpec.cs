using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>
/// The chunks of a multi-table mutation as people write them: <c>table=T;key=K;value=V</c> (a put),
/// <c>table=T;key=K;delete</c> (a delete), optionally <c>;version=N</c>, or a JSON file
/// <c>{"requestId": "...", "chunks": [{"table": "T", "put": {"key": "K", "value": "V"}}, {"table": "T", "delete": {"key": "K"}}]}</c>
/// where a value may also be a JSON object or array (sent as its JSON text: a Cassandra row).
/// </summary>
internal sealed record MutationSpec(string? RequestId, IReadOnlyList<MutationChunk> Chunks)
{
    /// <summary>Parses <c>--chunk</c> texts; throws a usage <see cref="CliException"/> naming the bad one.</summary>
    public static MutationSpec FromOptions(IEnumerable<string> chunks) =>
        new(null, [.. chunks.Select((text, i) => ParseChunk(text, i))]);

    /// <summary>Parses a mutation file; throws a usage <see cref="CliException"/> naming the bad part.</summary>
    public static MutationSpec FromFile(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw Invalid($"'{path}' is not JSON: {e.Message}");
        }

        if (root is not JsonObject file || file["chunks"] is not JsonArray { Count: > 0 } array)
        {
            throw Invalid($"'{path}' has no \"chunks\": [ ... ] array with at least one chunk");
        }

        foreach (var (name, _) in file)
        {
            if (name is not ("requestId" or "chunks"))
            {
                throw Invalid($"'{path}': unknown field \"{name}\" (expected requestId, chunks)");
            }
        }

        var chunks = array.Select((node, i) => FromJson(node, i, path)).ToList();
        return new(file["requestId"]?.GetValue<string>(), chunks);
    }

    private static MutationChunk ParseChunk(string text, int sequence)
    {
        var chunk = new MutationChunk { Sequence = (uint)sequence };
        string? key = null, value = null;
        var delete = false;
        foreach (var part in text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var (name, setting) = equals < 0 ? (part, null) : (part[..equals], part[(equals + 1)..]);
            switch (name)
            {
                case "table" when setting is { Length: > 0 }: chunk.Table = setting; break;
                case "key" when setting is { Length: > 0 }: key = setting; break;
                case "value" when setting is not null: value = setting; break;
                case "delete" when setting is null: delete = true; break;
                case "version" when long.TryParse(setting, NumberStyles.None, CultureInfo.InvariantCulture, out var version): chunk.Version = version; break;
                default: throw Invalid($"--chunk '{text}': '{part}' is not one of table=NAME, key=KEY, value=TEXT, delete, version=NUMBER");
            }
        }

        return Complete(chunk, key, value, delete, $"--chunk '{text}'");
    }

    private static MutationChunk FromJson(JsonNode? node, int sequence, string path)
    {
        var where = $"'{path}': chunk {sequence}";
        if (node is not JsonObject o)
        {
            throw Invalid($"{where} is not an object");
        }

        var chunk = new MutationChunk { Sequence = (uint)sequence, Table = Text(o["table"]) ?? string.Empty };
        if (o["version"] is { } version)
        {
            chunk.Version = version.GetValueKind() == JsonValueKind.Number ? version.GetValue<long>() : throw Invalid($"{where}: version must be a number");
        }

        var (put, delete) = (o["put"] as JsonObject, o["delete"] as JsonObject);
        var value = put?["value"] is { } v ? (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()) : null;
        if (put is not null && value is null)
        {
            throw Invalid($"{where}: put needs a \"value\"");
        }

        return Complete(chunk, Text((put ?? delete)?["key"]), value, delete is not null && put is null, where);
    }

    private static MutationChunk Complete(MutationChunk chunk, string? key, string? value, bool delete, string where)
    {
        if (chunk.Table.Length == 0 || key is null || (value is null) != delete)
        {
            throw Invalid($"{where} needs a table, a key, and either a value (put) or delete");
        }

        if (delete)
        {
            chunk.Delete = new Delete { Key = ByteString.CopyFromUtf8(key) };
        }
        else
        {
            chunk.Put = new Put { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value!) };
        }

        return chunk;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static CliException Invalid(string problem) =>
        new(ExitCodes.Usage, problem, "Fix it and run the command again ('wal mutate --help' shows both forms).");
}
