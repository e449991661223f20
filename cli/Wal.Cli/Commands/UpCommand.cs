using System.CommandLine;
using Microsoft.Extensions.Logging;
using Wal.Cli.Local;

namespace Wal.Cli.Commands;

/// <summary><c>wal up</c>: the whole of Wal in one process, on an embedded Kafka and a local memcached.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var namespaces = new Option<FileInfo>("--namespaces") { Description = "Namespace seed file (protobuf JSON).", DefaultValueFactory = _ => new FileInfo(DefaultNamespacesFile()) };
        var port = new Option<int>("--port") { Description = "gRPC port of the ingress.", DefaultValueFactory = _ => 50051 };
        var adminPort = new Option<int>("--admin-port") { Description = "HTTP port for /metrics, /healthz, /readyz.", DefaultValueFactory = _ => 50052 };
        var memcachedPort = new Option<int>("--memcached-port") { Description = "Port of the memcached this run starts.", DefaultValueFactory = _ => 11311 };
        var brokers = new Option<int>("--brokers") { Description = "Brokers in the embedded Kafka cluster.", DefaultValueFactory = _ => 3 };
        var verbose = new Option<bool>("--verbose") { Description = "Log every delivery." };
        var command = new Command("up", "Run Wal locally: embedded Kafka, memcached, the topology and the ingress, until Ctrl-C.")
        {
            namespaces, port, adminPort, memcachedPort, brokers, verbose,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var loggers = LoggerFactory.Create(b => b
                .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                .SetMinimumLevel(LogLevel.Information)
                .AddFilter("Wal.Topology", parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information)
                .AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
            var options = new LocalStackOptions
            {
                NamespacesFile = parse.GetValue(namespaces)!.FullName,
                IngressPort = parse.GetValue(port),
                AdminPort = parse.GetValue(adminPort),
                MemcachedPort = parse.GetValue(memcachedPort),
                Brokers = parse.GetValue(brokers),
            };
            await using var stack = await LocalStack.StartAsync(options, loggers, cancellationToken);
            PrintWelcome(stack);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("Stopping: ingress, topology (commits its work), memcached, Kafka.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void PrintWelcome(LocalStack stack)
    {
        var address = stack.IngressAddress.ToString().TrimEnd('/');
        Console.WriteLine($"""

            Wal is running. Ctrl-C stops everything it started.

              ingress (gRPC, h2c)  {address}   service wal.v1.WriteAheadLog
              metrics and health   {stack.AdminAddress?.ToString().TrimEnd('/') ?? "off"}/metrics  /healthz  /readyz
              Kafka (embedded)     {stack.Kafka.BootstrapServers}
              memcached            {stack.Memcached.Endpoint}   (cluster "{LocalStack.MemcachedCluster}")
              namespaces           {string.Join(", ", stack.Namespaces.All.Select(n => n.Name))}

            In another terminal, write and see it arrive:

              ./wal write demo --memcached-key greeting --value 'hello, wal' --address {address}
              ./wal cache get greeting --server {stack.Memcached.Endpoint}

            """);
    }

    private static string DefaultNamespacesFile()
    {
        // The seed next to the repository's wal script, else the one shipped with the binary.
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "config", "namespaces.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "config", "namespaces.json");
    }
}
