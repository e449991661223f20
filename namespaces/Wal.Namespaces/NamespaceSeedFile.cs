using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>
/// Reads namespace definitions from a JSON file in protobuf's JSON mapping of
/// <see cref="ListNamespacesResponse"/>: <c>{"namespaces": [{"name": "...", ...}]}</c>, field names
/// as in namespace.proto (lowerCamelCase or the proto's snake_case).
/// </summary>
public static class NamespaceSeedFile
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    /// <exception cref="NamespaceConfigException">The file cannot be read or parsed; the message names the file.</exception>
    public static IReadOnlyList<NamespaceConfig> Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A directory or a file this user may not read: UnauthorizedAccessException, which is no IOException.
            throw new NamespaceConfigException($"Cannot read the namespace file '{path}': {e.Message}", e);
        }

        return Parse(json, path);
    }

    public static IReadOnlyList<NamespaceConfig> Parse(string json, string source = "<inline>")
    {
        try
        {
            return Parser.Parse<ListNamespacesResponse>(json).Namespaces;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new NamespaceConfigException($"The namespace file '{source}' is not valid: {e.Message}", e);
        }
        catch (InvalidJsonException e)
        {
            throw new NamespaceConfigException($"The namespace file '{source}' is not valid JSON: {e.Message}", e);
        }
    }

    public static string Format(IEnumerable<NamespaceConfig> namespaces)
    {
        var list = new ListNamespacesResponse();
        list.Namespaces.AddRange(namespaces);
        return new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(list);
    }
}
