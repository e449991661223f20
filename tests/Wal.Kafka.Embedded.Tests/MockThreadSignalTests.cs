using System.Runtime.InteropServices;

namespace Wal.Kafka.Embedded.Tests;

/// <summary>
/// The mock cluster's thread must not take the process's signals: one interrupting its poll ends the thread and frees
/// the cluster, and the next call that waits on it (creating a topic) never returns. A test host that started and
/// reaped a child process hung that way in a clean-clone run.
/// </summary>
public sealed partial class MockThreadSignalTests
{
    private const int SigChld = 17;

    [Fact]
    public async Task SignalSentToTheMockThread_ClusterStillAnswers()
    {
        var before = MockThreads();
        // Not disposed when the thread has ended: disposing waits on it too, and the run would hang instead of failing.
        var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        // The thread names itself once it runs, a moment after the cluster is created.
        await Eventually.WaitUntilAsync(() => MockThreads().Except(before).Count() == 1, TimeSpan.FromSeconds(10), "the new cluster's rdk:mock thread");
        var mock = MockThreads().Except(before).Single();

        // What a child process's exit does when the kernel picks this thread: .NET handles SIGCHLD once the process
        // has started a child, as test hosts that run a CLI or kill an instance do.
        using (var child = System.Diagnostics.Process.Start("true"))
        {
            await child.WaitForExitAsync();
        }

        Assert.Equal(0, ThreadKill(Environment.ProcessId, mock, SigChld));

        // Run apart: on a cluster whose thread ended, the call waits for good, and the deadline fails the test.
        await Task.Run(() => cluster.CreateTopic("after-the-signal")).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains(mock, MockThreads());
        cluster.Dispose();
    }

    private static HashSet<int> MockThreads() =>
        [.. Directory.GetDirectories("/proc/self/task")
            .Where(task => NameOf(task) == "rdk:mock")
            .Select(task => int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture))];

    // Empty for a thread that ended since the directory was listed (another test's cluster going away).
    private static string NameOf(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    [LibraryImport("libc", EntryPoint = "tgkill")]
    private static partial int ThreadKill(int processId, int threadId, int signal);
}
