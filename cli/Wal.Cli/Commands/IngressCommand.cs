using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Ingress;
using Wal.Ingress.Admin;
using Wal.Cli.Settings;
using Wal.Kafka;
using Wal.Namespaces;

namespace Wal.Cli.Commands;

/// <summary><c>wal ingress</c>: serve WriteToLog against a Kafka cluster (a deployment's front door).</summary>
internal static class IngressCommand
{
    public static Command Create()
    {
        var tlsCertificate = new Option<FileInfo?>("--tls-cert")
        {
            Description = $"Server certificate (PEM) for TLS on the gRPC port; with --tls-key [env {WalEnvironment.TlsCertificate}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.TlsCertificate) is { } path ? new FileInfo(path) : null,
        };
        var tlsKey = new Option<FileInfo?>("--tls-key")
        {
            Description = $"Private key (PEM) of --tls-cert [env {WalEnvironment.TlsKey}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.TlsKey) is { } path ? new FileInfo(path) : null,
        };
        var tlsClientCa = new Option<FileInfo?>("--tls-client-ca")
        {
            Description = $"CA (PEM) client certificates must chain to: mutual TLS, callers named by their certificate [env {WalEnvironment.TlsClientCa}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.TlsClientCa) is { } path ? new FileInfo(path) : null,
        };
        var adminClients = new Option<string[]>("--admin-clients")
        {
            Description = $"Client certificate names that may create, update and delete namespaces (comma-separated; needs --tls-client-ca). Unset: any caller [env {WalEnvironment.AdminClients}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.AdminClients)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var noCreateTopics = new Option<bool>("--no-create-topics")
        {
            Description = "Do not create topics: the control-plane topic and every namespace's log topic must already exist "
                + "(checked at start), and a namespace created through the ingress needs its log made beforehand (refused while it is missing).",
        };
        // No environment variable: WAL_ADMIN_PORT is the topology's, and an ingress beside it on one host needs another port.
        var adminPort = new Option<int>("--admin-port")
        {
            Description = "HTTP/1.1 port for /metrics, /healthz and /readyz, on the --listen address; 0 picks a free one, -1 turns it off.",
            DefaultValueFactory = _ => new IngressOptions().AdminPort,
        };
        adminPort.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < -1 or > 65535)
            {
                r.AddError($"--admin-port {r.GetValueOrDefault<int>()} must be -1 (off), 0 (a free port) or a port up to 65535.");
            }
        });
        var command = new Command("ingress", "Serve the gRPC ingress: validate writes and make them durable in Kafka.")
        {
            SharedOptions.BootstrapServers, SharedOptions.Region, SharedOptions.NamespacesFile, SharedOptions.Listen, tlsCertificate, tlsKey, tlsClientCa, adminClients,
            noCreateTopics, adminPort, SharedOptions.ApplicationId,
        };
        command.SetServingAction(async (parse, cancellationToken) =>
        {
            using var loggers = SharedOptions.CreateLoggers();
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var (host, port) = SharedOptions.ParseListen(parse.GetValue(SharedOptions.Listen)!);
            var existingTopicsOnly = parse.GetValue(noCreateTopics);
            var applicationId = parse.GetValue(SharedOptions.ApplicationId)!;
            using var admin = existingTopicsOnly ? null : new AdminTopicProvisioner(bootstrap);
            var topics = (ITopicProvisioner?)admin ?? new Hosting.ExistingTopics();
            if (existingTopicsOnly)
            {
                // Before the control plane follows its topic: a consumer naming a missing topic has a broker that
                // auto-creates topics make it, with the broker's defaults.
                await Hosting.RequiredTopics.CheckAsync(bootstrap, [new ControlPlaneOptions { BootstrapServers = bootstrap }.Topic], cancellationToken);
            }

            await using var controlPlane = await Hosting.Namespaces.StartControlPlaneAsync(
                bootstrap, parse.GetValue(SharedOptions.NamespacesFile)?.FullName, topics, applicationId, loggers, cancellationToken);
            if (existingTopicsOnly)
            {
                // The ingress only produces to the logs: the dead-letter topics and changelogs are the topology's.
                await Hosting.RequiredTopics.CheckAsync(bootstrap, [.. controlPlane.Registry.All.Select(ns => ns.Topic)], cancellationToken);
            }

            await using var app = IngressHost.Build(
                new IngressOptions
                {
                    BootstrapServers = bootstrap,
                    Region = parse.GetValue(SharedOptions.Region)!,
                    TopologyApplicationId = applicationId,
                    ListenAddress = host,
                    Port = port,
                    AdminPort = parse.GetValue(adminPort),
                    TlsCertificatePath = parse.GetValue(tlsCertificate)?.FullName ?? string.Empty,
                    TlsKeyPath = parse.GetValue(tlsKey)?.FullName ?? string.Empty,
                    ClientCaPath = parse.GetValue(tlsClientCa)?.FullName ?? string.Empty,
                    AdminClients = parse.GetValue(adminClients) ?? [],
                },
                controlPlane.Registry,
                builder =>
            {
                builder.Logging.ClearProviders().AddProvider(new Local.ForwardingLoggerProvider(loggers));
                builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Hosting.CommandLineLifetime>();
            });
            app.MapNamespaceAdmin(controlPlane, (ns, ct) => Hosting.Namespaces.PrepareAsync(topics, bootstrap, ns, applicationId, logMustExist: existingTopicsOnly, ct));
            return await ServeAsync(app, parse.InvocationConfiguration.Error, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Serves until Ctrl-C or SIGTERM (exit 0), or until the producer fails fatally (exit 1): it then refuses every write
    /// for good, and a process that stops is one its supervisor restarts with a new producer, where one that serves on
    /// waits for a liveness probe that a plain supervisor never sends.
    /// </summary>
    internal static async Task<int> ServeAsync(WebApplication app, TextWriter error, CancellationToken cancellationToken)
    {
        await StartListeningAsync(app, cancellationToken);
        try
        {
            var fatal = await app.Services.GetRequiredService<KafkaLogProducer>().Failed.WaitAsync(cancellationToken);
            await error.WriteLineAsync($"error: the ingress's Kafka producer failed fatally, so every write is refused; stopping: {fatal}");
            await error.WriteLineAsync("next: see the log above for what Kafka answered, then start wal ingress again (a restart policy does so): it gets a new producer.");
            await app.StopAsync(CancellationToken.None);
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM: stop taking writes, answer those in flight, then stop.
            await app.StopAsync(CancellationToken.None);
            return ExitCodes.Ok;
        }
    }

    private static async Task StartListeningAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            // Kestrel's bind failure: its message names the address and why (in use, not this host's).
            throw new CliException(ExitCodes.Failed, $"cannot listen: {e.Message}", $"Stop what holds the port, or choose another with --listen (or {WalEnvironment.Listen}) or --admin-port.");
        }
    }
}
