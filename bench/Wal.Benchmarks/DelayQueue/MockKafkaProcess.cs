using System.Diagnostics;
namespace Wal.Benchmarks.DelayQueue;

/// <summary>The mock cluster in a child process (see <see cref="MockKafkaChild"/>); disposing closes its input, which ends it.</summary>
internal sealed class MockKafkaProcess : IDisposable
{
    private readonly Process _process;

    private MockKafkaProcess(Process process, string bootstrapServers)
    {
        _process = process;
        BootstrapServers = bootstrapServers;
    }

    public string BootstrapServers { get; }

    /// <summary>CPU time the broker process has used so far.</summary>
    public TimeSpan ProcessorTime => _process.TotalProcessorTime;

    /// <summary>Starts the child with these topics (<c>name:partitions[:compact][:rf=N]</c>) and reads its bootstrap servers.</summary>
    public static async Task<MockKafkaProcess> StartAsync(int brokers, IEnumerable<string> topicSpecs, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { typeof(MockKafkaProcess).Assembly.Location, MockKafkaChild.Command, $"--brokers={brokers}" }.Concat(topicSpecs))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the mock cluster's process did not start");
        var bootstrap = await process.StandardOutput.ReadLineAsync(cancellationToken);
        if (string.IsNullOrEmpty(bootstrap))
        {
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException("the mock cluster's process printed no bootstrap servers");
        }

        return new MockKafkaProcess(process, bootstrap);
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _process.Kill();
        }

        _process.Dispose();
    }
}
