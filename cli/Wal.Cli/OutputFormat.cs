namespace Wal.Cli;

internal enum OutputFormat
{
    Text,
    Json,
}
