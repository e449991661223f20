using System.CommandLine;

namespace Wal.Cli.Commands;

/// <summary>Options several commands share.</summary>
internal static class CommonOptions
{
    public static readonly Option<Uri> Address = new("--address")
    {
        Description = "The ingress to talk to.",
        DefaultValueFactory = _ => new Uri(Environment.GetEnvironmentVariable("WAL_ADDRESS") ?? "http://127.0.0.1:50051"),
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "text for people, json for scripts.",
        DefaultValueFactory = _ => OutputFormat.Text,
        Recursive = true,
    };
}
