using Google.Protobuf;

namespace Wal.Cli;

/// <summary>Prints a result as text for people or as JSON (protobuf's JSON mapping) for scripts.</summary>
internal static class Output
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static void Write(TextWriter writer, OutputFormat format, IMessage message, Func<string> text) =>
        writer.WriteLine(format == OutputFormat.Json ? Json.Format(message) : text());
}
