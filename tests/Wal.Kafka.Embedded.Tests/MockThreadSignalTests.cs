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
        var mock = await NewMockThreadAsync(before);

        // What a child process's exit does when the kernel picks this thread: .NET handles SIGCHLD once the process
        // has started a child, as test hosts that run a CLI or kill an instance do.
        using (var child = System.Diagnostics.Process.Start("true"))
        {
            await child.WaitForExitAsync();
        }

        Assert.Equal(0, ThreadKill(Environment.ProcessId, mock, SigChld));

        // Run apart: on a cluster whose thread ended, the call waits for good.
        var created = Task.Run(() => cluster.CreateTopic("after-the-signal"));
        Assert.True(
            await Task.WhenAny(created, Task.Delay(TimeSpan.FromSeconds(20))) == created,
            "the mock cluster stopped answering after a signal: its thread ended and freed the cluster");
        await created;
        Assert.Contains(mock, MockThreads());
        cluster.Dispose();
    }

    // The thread names itself once it runs, a moment after the cluster is created.
    private static async Task<int> NewMockThreadAsync(HashSet<int> before)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            if (MockThreads().Except(before).ToList() is [var thread])
            {
                return thread;
            }

            await Task.Delay(10, deadline.Token);
        }
    }

    private static HashSet<int> MockThreads() =>
        [.. Directory.GetDirectories("/proc/self/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == "rdk:mock")
            .Select(task => int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture))];

    [LibraryImport("libc", EntryPoint = "tgkill")]
    private static partial int ThreadKill(int processId, int threadId, int signal);
}
