using System.CommandLine;
using System.Globalization;
using Wal.Cli.Hosting;
using Wal.Cli.Settings;
using Wal.Kafka;
using Wal.Sinks;
using Wal.Streams;
using Wal.Topology;
using Wal.Topology.Replication;

namespace Wal.Cli.Commands;

/// <summary><c>wal topology</c>: one topology instance; start more with the same application id to scale out.</summary>
internal static class TopologyCommand
{
    private static readonly TimeSpan DefaultSessionTimeout = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan DefaultMaxPollInterval = new StreamsConfig().MaxPollInterval;

    public static Command Create()
    {
        var stateDir = new Option<DirectoryInfo>("--state-dir")
        {
            Description = $"Where RocksDB stores and checkpoints live [env {WalEnvironment.StateDir}].",
            DefaultValueFactory = _ => new DirectoryInfo(WalEnvironment.Get(WalEnvironment.StateDir) ?? Path.Combine(Path.GetTempPath(), "wal-state")),
        };
        var memcached = new Option<string?>("--memcached")
        {
            Description = $"memcached clusters, name=host:port[;host:port],… (e.g. local=127.0.0.1:11211) [env {WalEnvironment.MemcachedClusters}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.MemcachedClusters),
        };
        var cassandra = new Option<string?>("--cassandra")
        {
            Description = $"Cassandra clusters, name=host:port[;host:port],… (e.g. main=cassandra:9042) [env {WalEnvironment.CassandraClusters}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.CassandraClusters),
        };
        var kafkaClusters = new Option<string?>("--kafka-clusters")
        {
            Description = "Kafka clusters that Kafka targets name, name=host:port[;host:port],… (targets naming none go to "
                + $"--bootstrap-servers) [env {WalEnvironment.KafkaClusters}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.KafkaClusters),
        };
        var deliveryTimeout = new Option<TimeSpan>("--delivery-timeout")
        {
            Description = "Longest wait for one delivery attempt before it counts as a retriable failure (e.g. 5s); "
                + "also the Kafka sink's message timeout and the upper bound of an upstream target's timeout.",
            DefaultValueFactory = _ => new WalTopologyOptions().DeliveryTimeout,
            CustomParser = DurationText.Parse,
        };
        var regions = new Option<string?>("--regions")
        {
            Description = $"Kafka of each region, name=bootstrap,… (e.g. a=kafka-a:9092,b=kafka-b:9092); overrides the addresses in the namespaces' regions lists [env {WalEnvironment.Regions}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.Regions),
        };
        var noCreateTopics = new Option<bool>("--no-create-topics")
        {
            Description = "Do not create topics: the control-plane topic, every namespace's log and dead-letter topics and the "
                + "state-store changelogs ({application-id}-{store}-changelog) must already exist.",
        };
        var sessionTimeout = new Option<TimeSpan>("--session-timeout")
        {
            Description = "How long the group waits for a silent instance before moving its partitions to the others (e.g. 10s).",
            DefaultValueFactory = _ => DefaultSessionTimeout,
            CustomParser = DurationText.Parse,
        };
        var adminPort = new Option<int>("--admin-port")
        {
            Description = $"HTTP/1.1 port for /metrics, /healthz and /readyz; 0 picks a free one, -1 turns it off [env {WalEnvironment.AdminPort}].",
            DefaultValueFactory = r =>
            {
                var text = WalEnvironment.Get(WalEnvironment.AdminPort);
                if (text is null)
                {
                    return TopologyAdmin.DefaultPort;
                }

                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var port))
                {
                    r.AddError($"{WalEnvironment.AdminPort} '{text}' is not a port number.");
                }
                else if (!IsAdminPort(port))
                {
                    r.AddError($"{WalEnvironment.AdminPort} {port} must be -1 (off), 0 (a free port) or a port up to 65535.");
                }

                return port;
            },
        };
        adminPort.Validators.Add(r =>
        {
            // The default (WAL_ADMIN_PORT) is checked where it is read: an error added there makes reading its value
            // here throw that error, which ended the process with an unhandled exception rather than exit 2.
            if (!r.Implicit && !IsAdminPort(r.GetValueOrDefault<int>()))
            {
                r.AddError($"--admin-port {r.GetValueOrDefault<int>()} must be -1 (off), 0 (a free port) or a port up to 65535.");
            }
        });
        var adminHost = new Option<string>("--admin-host")
        {
            Description = $"Address the --admin-port listens on (0.0.0.0 for probes and scrapers from other hosts) [env {WalEnvironment.AdminHost}].",
            DefaultValueFactory = _ => WalEnvironment.Get(WalEnvironment.AdminHost) ?? "127.0.0.1",
        };
        adminHost.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } text && !TopologyAdmin.TryParseHost(text, out _))
            {
                r.AddError($"--admin-host '{text}' is not an IP address or localhost.");
            }
        });
        var command = new Command("topology", "Run a topology instance: deliver, delay, retry and dead-letter the namespaces' records.")
        {
            SharedOptions.BootstrapServers, SharedOptions.Region, SharedOptions.NamespacesFile, stateDir, SharedOptions.ApplicationId, memcached, cassandra, kafkaClusters,
            deliveryTimeout, regions, noCreateTopics, sessionTimeout, adminPort, adminHost,
        };
        command.SetServingAction(async (parse, cancellationToken) =>
        {
            using var loggers = SharedOptions.CreateLoggers();
            var bootstrap = parse.GetValue(SharedOptions.BootstrapServers)!;
            var app = parse.GetValue(SharedOptions.ApplicationId)!;
            var attempt = parse.GetValue(deliveryTimeout);
            if (attempt < TimeSpan.FromMilliseconds(1) || attempt > TimeSpan.FromHours(1))
            {
                await Console.Error.WriteLineAsync($"error: --delivery-timeout {attempt} must be between 1 ms and an hour.");
                return ExitCodes.Usage;
            }

            SinkSettings sinks;
            IReadOnlyDictionary<string, string> regionServers;
            try
            {
                sinks = SinkSettings.FromText(parse.GetValue(memcached), parse.GetValue(cassandra), parse.GetValue(kafkaClusters)) with
                {
                    LocalKafka = bootstrap,
                    DeliveryTimeout = attempt,
                };
                regionServers = NamedEndpoints.Parse(parse.GetValue(regions), "--regions");
            }
            catch (FormatException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.Usage;
            }

            var session = parse.GetValue(sessionTimeout);
            var region = parse.GetValue(SharedOptions.Region)!;
            var options = new WalTopologyOptions { Region = region, DeliveryTimeout = attempt };
            var streamsConfig = new StreamsConfig
            {
                ApplicationId = app,
                BootstrapServers = bootstrap,
                StateDirectory = parse.GetValue(stateDir)!.FullName,
                SessionTimeout = session,

                // A third of the session timeout, as Kafka advises, so two missed heartbeats are survivable.
                HeartbeatInterval = session / 3,

                // Kafka's clients refuse a max.poll.interval below the session timeout: a longer session raises it too.
                MaxPollInterval = session > DefaultMaxPollInterval ? session : DefaultMaxPollInterval,
            };

            // Before anything reaches Kafka: found by the host's constructor, after the control plane had created topics
            // and published the seed, a setting the streams refuse ended as an unexpected failure with a stack trace.
            if (SettingsProblem(options, streamsConfig) is { } problem)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {problem}");
                return ExitCodes.Usage;
            }

            // Also before anything reaches Kafka: the streams make their directory only once they start, after the topics were
            // created and the seed published, and a directory this user cannot make or write ended there as an unexpected failure.
            if (StateDirectoryProblem(streamsConfig) is { } unusable)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: --state-dir '{streamsConfig.StateDirectory}' cannot be used: {unusable}");
                await parse.InvocationConfiguration.Error.WriteLineAsync(
                    $"next: Give it a directory this user can create and write (--state-dir, or {WalEnvironment.StateDir}), and start again.");
                return ExitCodes.Failed;
            }

            var health = new TopologyHealth();
            TopologyAdmin? endpoints = null;
            if (parse.GetValue(adminPort) is var port and >= 0)
            {
                _ = TopologyAdmin.TryParseHost(parse.GetValue(adminHost)!, out var address);
                try
                {
                    // Before anything reaches Kafka: the probes answer (alive, starting) while the namespaces are read and
                    // their topics created, and later while stores are restored. Started after the control plane, the port
                    // refused connections for as long as Kafka took to create the topics, which a liveness probe reads as dead.
                    endpoints = await TopologyAdmin.StartAsync(address, port, health, TopologyMetrics.Shared, loggers, cancellationToken);
                }
                catch (IOException e)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"error: cannot serve --admin-port {port}: {e.Message}");
                    return ExitCodes.Failed;
                }

                await parse.InvocationConfiguration.Output.WriteLineAsync($"metrics and health: {endpoints.Address.ToString().TrimEnd('/')}/metrics  /healthz  /readyz");
            }

            await using var servedEndpoints = endpoints;

            var existingTopicsOnly = parse.GetValue(noCreateTopics);
            using var admin = existingTopicsOnly ? null : new AdminTopicProvisioner(bootstrap);
            var topics = (ITopicProvisioner?)admin ?? new ExistingTopics();
            if (existingTopicsOnly)
            {
                // As wal ingress does: before the control plane follows its topic, which a broker that auto-creates
                // topics would make with its own defaults (not compacted).
                await RequiredTopics.CheckAsync(bootstrap, [new Wal.Namespaces.ControlPlaneOptions { BootstrapServers = bootstrap }.Topic], cancellationToken);
            }

            await using var controlPlane = await Hosting.Namespaces.StartControlPlaneAsync(
                bootstrap, parse.GetValue(SharedOptions.NamespacesFile)?.FullName, topics, app, loggers, cancellationToken);
            endpoints?.Follow(controlPlane.Registry);
            if (existingTopicsOnly)
            {
                // Every topic the streams read or write: unchecked, a missing dead-letter topic stopped the instance only
                // at its first dead letter, and a missing log or changelog was auto-created with the broker's count.
                await RequiredTopics.CheckAsync(
                    bootstrap, [.. Hosting.Namespaces.TopicsFor(controlPlane.Registry.All, app).Select(t => t.Name)], cancellationToken);
            }
            try
            {
                // Checked before anything runs; the replication host plans again whenever the namespaces change.
                _ = CrossRegionReplication.Plan(controlPlane.Registry.All, region, bootstrap, regionServers);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.Usage;
            }

            SinkRouter router;
            try
            {
                router = sinks.CreateRouter(controlPlane.Registry, app, loggers);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.Usage;
            }

            await using var sinkRouter = router;
            // The host rebuilds the topology when namespaces are created or deleted, without a restart.
            await using var streams = new WalTopologyHost(controlPlane.Registry, router, options, streamsConfig, topics, loggers);
            health.HostBuilt(streams);
            await streams.StartAsync(cancellationToken);
            health.HostStarted();
            // Replicators send this region's records to the others, following the namespaces as the
            // topology does; records arriving from them are applied by the topology above like any
            // other record of the namespace's topic.
            await using var replication = new ReplicationHost(
                controlPlane.Registry, namespaces => CrossRegionReplication.Plan(namespaces, region, bootstrap, regionServers), topics, loggers);
            await replication.StartAsync(cancellationToken);
            try
            {
                // A stream thread that stopped on an error is not revived in this process; exiting lets the supervisor
                // (compose's restart policy, a Kubernetes pod) start the instance again, restoring from its changelogs.
                var error = await streams.Failed.WaitAsync(cancellationToken);
                await Console.Error.WriteLineAsync($"error: a stream thread stopped; exiting so the instance is restarted: {error.GetBaseException().Message}");
                return ExitCodes.Failed;
            }
            catch (OperationCanceledException)
            {
                await streams.CloseAsync(CancellationToken.None);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static bool IsAdminPort(int port) => port is >= -1 and <= 65535;

    /// <summary>Why the application's directory under the state directory cannot be made or written; null if it can.</summary>
    private static string? StateDirectoryProblem(StreamsConfig streams)
    {
        try
        {
            var directory = Directory.CreateDirectory(streams.ApplicationDirectory);
            using var probe = File.Create(Path.Combine(directory.FullName, $".write-check-{Guid.NewGuid():N}"), 1, FileOptions.DeleteOnClose);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    /// <summary>What the topology and its streams would refuse in these settings, named by the option behind it; null if nothing.</summary>
    private static string? SettingsProblem(WalTopologyOptions options, StreamsConfig streams)
    {
        try
        {
            options.Validate();
            streams.Validate();
            return null;
        }
        catch (StreamsConfigException e)
        {
            return $"{OptionBehind(e.Option)}: {e.Message}";
        }
        catch (ArgumentException e)
        {
            return $"{OptionBehind(e.ParamName)}: {e.Message}";
        }
    }

    // The settings a command line can make invalid; the command sets the others to valid values of its own.
    private static string OptionBehind(string? setting) => setting switch
    {
        nameof(StreamsConfig.ApplicationId) => "--application-id",
        nameof(StreamsConfig.BootstrapServers) => "--bootstrap-servers",
        nameof(StreamsConfig.StateDirectory) => "--state-dir",
        nameof(StreamsConfig.SessionTimeout) or nameof(StreamsConfig.HeartbeatInterval) or nameof(StreamsConfig.MaxPollInterval) => "--session-timeout",
        nameof(WalTopologyOptions.Region) => "--region",
        nameof(WalTopologyOptions.DeliveryTimeout) => "--delivery-timeout",
        _ => $"the setting {setting}",
    };
}
