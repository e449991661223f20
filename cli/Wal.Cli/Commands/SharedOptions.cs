using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Wal.Cli.Settings;

namespace Wal.Cli.Commands;

/// <summary>Options of the server commands, each defaulting to its WAL_ environment variable.</summary>
internal static class SharedOptions
{
    public const string DefaultApplicationId = "wal-topology";

    public static readonly Option<string> BootstrapServers = new("--bootstrap-servers")
    {
        Description = $"Kafka bootstrap servers [env {WalEnvironment.BootstrapServers}].",
        DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.BootstrapServers) ?? "127.0.0.1:9092",
    };

    public static readonly Option<string> Region = new("--region")
    {
        Description = $"This region's name [env {WalEnvironment.Region}].",
        DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.Region) ?? "local",
    };

    public static readonly Option<FileInfo?> NamespacesFile = new("--namespaces")
    {
        Description = $"Seed file published to the control plane on first start [env {WalEnvironment.NamespacesFile}].",
        DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.NamespacesFile) is { } path ? new FileInfo(path) : null,
    };

    // The ingress needs it too: a namespace it creates gets its stores' changelogs, and is checked against existing ones,
    // under the topology's id.
    public static readonly Option<string> ApplicationId = new("--application-id")
    {
        Description = $"The topology's consumer group and changelog prefix; instances with the same id share the work [env {WalEnvironment.ApplicationId}].",
        DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.ApplicationId) ?? DefaultApplicationId,
    };

    public static readonly Option<string> Listen = new("--listen")
    {
        Description = $"host:port the ingress listens on [env {WalEnvironment.Listen}].",
        DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.Listen) ?? "127.0.0.1:50051",
    };

    static SharedOptions()
    {
        // The ingress uses it too (a new namespace's changelogs, the Kafka-target check): refused before either reaches Kafka.
        ApplicationId.Validators.Add(r =>
        {
            var id = r.GetValueOrDefault<string>();
            if (Wal.Streams.StreamsConfig.ApplicationIdProblem(id) is { } problem)
            {
                r.AddError($"--application-id {(problem.StartsWith('\'') ? problem : $"'{id}' {problem}")}.");
            }
        });
        Listen.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>();
            if (text is not null && !TryParseListen(text, out _, out _))
            {
                r.AddError($"--listen '{text}' is not host:port (e.g. 0.0.0.0:50051).");
            }
        });
    }

    public static (string Host, int Port) ParseListen(string text) =>
        TryParseListen(text, out var host, out var port) ? (host, port) : throw new FormatException($"'{text}' is not host:port");

    public static ILoggerFactory CreateLoggers() => LoggerFactory.Create(b => b
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter("Microsoft.AspNetCore", LogLevel.Warning));

    private static bool TryParseListen(string text, out string host, out int port)
    {
        var colon = text.LastIndexOf(':');
        host = colon > 0 ? text[..colon] : string.Empty;
        port = 0;
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
    }
}
