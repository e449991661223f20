using System.CommandLine;

namespace Wal.Cli.Commands;

/// <summary>Options several commands share.</summary>
internal static class CommonOptions
{
    public static readonly Option<Uri> Address = new("--address")
    {
        Description = "The ingress to talk to.",
        DefaultValueFactory = _ => new Uri(Environment.GetEnvironmentVariable("WAL_ADDRESS") ?? "http://127.0.0.1:50051"),
        // System.CommandLine has no built-in Uri conversion.
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                return uri;
            }

            r.AddError($"--address '{text}' is not an http:// or https:// address (e.g. http://127.0.0.1:50051).");
            return null;
        },
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "text for people, json for scripts.",
        DefaultValueFactory = _ => OutputFormat.Text,
        Recursive = true,
    };
}
