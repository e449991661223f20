using System.Net;
using System.Net.Sockets;
using Wal.Cli.Commands;
using Wal.Ingress;
using Wal.Kafka.Embedded;
using Wal.Namespaces;

namespace Wal.Cli.Tests.Serving;

/// <summary>
/// A serving command that cannot start says what failed and what to do next, in two lines on stderr as the other
/// commands do, with the exit code a script acts on: no .NET stack trace for a case the user can fix.
/// </summary>
[Collection(UpStateDirectoryCollection.Name)]
public sealed class StartUpFailureTests
{
    // Nothing listens on port 1: every request to Kafka there times out.
    private const string UnreachableKafka = "127.0.0.1:1";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("ingress", "--bootstrap-servers", UnreachableKafka, "--listen", "127.0.0.1:50098")]
    [InlineData("topology", "--bootstrap-servers", UnreachableKafka, "--admin-port", "-1")]
    [InlineData("up", "--port", "0", "--admin-port", "-1", "--topology-admin-port", "-1", "--memcached-port", "0", "--brokers", "1")]
    public async Task Command_NamespaceFileNotJson_ExitsUsageNamingTheFile(params string[] command)
    {
        var file = Path.Combine(Path.GetTempPath(), $"wal-bad-seed-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"namespaces": [""");
        try
        {
            var run = await RunAsync([.. command, "--namespaces", file]);

            Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
            Assert.Contains($"error: The namespace file '{file}' is not valid JSON", run.Error, StringComparison.Ordinal);
            Assert.Contains("next: Fix the namespace file", run.Error, StringComparison.Ordinal);
            AssertNoStackTrace(run);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("ingress", "--listen", "127.0.0.1:50097")]
    [InlineData("topology", "--admin-port", "-1", "--no-create-topics")]
    public async Task Command_KafkaNeverAnswers_ExitsFailedNamingTheBootstrapServers(params string[] command)
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-unreachable-{Guid.NewGuid():N}");
        var run = await RunAsync([.. command, "--bootstrap-servers", UnreachableKafka, .. command[0] == "topology" ? new[] { "--state-dir", stateDirectory } : []]);

        Assert.True(run.Exit == ExitCodes.Failed, run.ToString());
        Assert.Contains($"error: Kafka at {UnreachableKafka}", run.Error, StringComparison.Ordinal);
        Assert.Contains("next: Check --bootstrap-servers", run.Error, StringComparison.Ordinal);
        AssertNoStackTrace(run);
        if (Directory.Exists(stateDirectory))
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Topology_StateDirectoryCannotBeMade_ExitsFailedNamingItBeforeReachingKafka()
    {
        // A state directory the process cannot make or write (an image run as a user other than the one that owns
        // WAL_STATE_DIR): found only when the streams started, after the topics were created and the seed published, it
        // ended as an unexpected failure with a stack trace and a request to report it.
        var file = Path.Combine(Path.GetTempPath(), $"wal-state-file-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, "a file, not a directory");
        try
        {
            var stateDirectory = Path.Combine(file, "state");
            var run = await RunAsync(["topology", "--bootstrap-servers", UnreachableKafka, "--admin-port", "-1", "--state-dir", stateDirectory]);

            Assert.True(run.Exit == ExitCodes.Failed, run.ToString());
            Assert.Contains($"error: --state-dir '{stateDirectory}'", run.Error, StringComparison.Ordinal);
            Assert.Contains("next: ", run.Error, StringComparison.Ordinal);
            Assert.Contains(Wal.Cli.Settings.WalEnvironment.StateDir, run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("Kafka at", run.Error, StringComparison.Ordinal);
            AssertNoStackTrace(run);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task IngressServe_PortTaken_ExplainsWhichAddressAndWhatToDo()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        using var kafka = EmbeddedKafkaCluster.Start(brokerCount: 1);
        await using var app = IngressHost.Build(new IngressOptions { BootstrapServers = kafka.BootstrapServers, Port = port, AdminPort = -1 }, new NamespaceRegistry());
        using var error = new StringWriter();

        var failure = await Assert.ThrowsAsync<CliException>(() => IngressCommand.ServeAsync(app, error, CancellationToken.None).WaitAsync(Deadline));

        Assert.Equal(ExitCodes.Failed, failure.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
        Assert.Contains("--listen", failure.NextStep, StringComparison.Ordinal);
    }

    private static void AssertNoStackTrace(Operator.CliRun run)
    {
        Assert.DoesNotContain("Exception", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("error: ", StringComparison.Ordinal) || l.StartsWith("next: ", StringComparison.Ordinal)));
    }

    private static async Task<Operator.CliRun> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await WalCommandLine.RunAsync(args, output, error).WaitAsync(Deadline);
        return new(exit, output.ToString(), error.ToString());
    }
}
