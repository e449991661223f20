using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Cli;

/// <summary>Where a command writes: injectable writers (tests run commands in parallel) and the chosen format.</summary>
internal sealed class Terminal(TextWriter output, TextWriter error, OutputFormat format)
{
    private static readonly JsonFormatter ProtoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    // Text as it is ('typo', +00:00), not \u0027 and \u002B: the output goes to people and scripts, never into HTML.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    public OutputFormat Format { get; } = format;

    public bool IsJson => Format == OutputFormat.Json;

    /// <summary>True when progress can redraw one line: stderr is the real, interactive console.</summary>
    public bool IsInteractive => ReferenceEquals(Error, Console.Error) && !Console.IsErrorRedirected;

    public static JsonNode ToJson(IMessage message) => JsonNode.Parse(ProtoJson.Format(message))!;

    /// <summary>" at topic/partition@offset" for a durable write; Kafka's -1 (it did not say) reads as "offset unknown".</summary>
    public static string Position(WriteToLogResponse response) => response.Position is not { } p
        ? string.Empty
        : p.Offset >= 0 ? $" at {p.Topic}/{p.Partition}@{p.Offset}" : $" at {p.Topic}/{p.Partition}, offset unknown ({response.Message})";

    public void WriteJson(JsonNode node) => Out.WriteLine(Json(node));

    public static string Json(JsonNode node) => node.ToJsonString(Indented);

    /// <summary>Writes <paramref name="message"/> as protobuf JSON, or <paramref name="text"/> for people.</summary>
    public void Write(IMessage message, Func<string> text) => Out.WriteLine(IsJson ? ProtoJson.Format(message) : text());
}
