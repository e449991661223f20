using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Ingress;
using Wal.Ingress.Admin;
using Wal.Kafka;

namespace Wal.Cli.Commands;

/// <summary><c>wal ingress</c>: serve WriteToLog against a Kafka cluster (a deployment's front door).</summary>
internal static class IngressCommand
{
    public static Command Create()
    {
        var command = new Command("ingress", "Serve the gRPC ingress: validate writes and make them durable in Kafka.")
        {
            SharedOptions.BootstrapServers, SharedOptions.Region, SharedOptions.NamespacesFile, SharedOptions.Listen,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var loggers = SharedOptions.CreateLoggers();
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var (host, port) = SharedOptions.ParseListen(parse.GetValue(SharedOptions.Listen)!);
            using var topics = new AdminTopicProvisioner(bootstrap);
            await using var controlPlane = await Hosting.Namespaces.StartControlPlaneAsync(
                bootstrap, parse.GetValue(SharedOptions.NamespacesFile)?.FullName, topics, SharedOptions.DefaultApplicationId, loggers, cancellationToken);
            await using var app = IngressHost.Build(
                new IngressOptions { BootstrapServers = bootstrap, Region = parse.GetValue(SharedOptions.Region)!, ListenAddress = host, Port = port },
                controlPlane.Registry,
                builder =>
            {
                builder.Logging.ClearProviders().AddProvider(new Local.ForwardingLoggerProvider(loggers));
                builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Hosting.CommandLineLifetime>();
            });
            var applicationId = SharedOptions.DefaultApplicationId;
            app.MapNamespaceAdmin(controlPlane, (ns, ct) => topics.EnsureAsync(Hosting.Namespaces.TopicsFor([ns], applicationId), ct));
            await app.StartAsync(cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM: stop taking writes, answer those in flight, then stop.
                await app.StopAsync(CancellationToken.None);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
