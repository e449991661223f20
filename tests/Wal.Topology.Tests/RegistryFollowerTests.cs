using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Topology.Tests;

public sealed class RegistryFollowerTests
{
    // Each change restarted the quiet period: changes more often than it (a quota set by automation every half second)
    // held the step, and with it a new namespace's rebuild, off for as long as they came.
    [Fact]
    public async Task ChangesThatNeverStop_StillGetAStepWithinTenQuietPeriods()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "a" }]);
        var steps = 0;
        await using var follower = new RegistryFollower(registry, TimeSpan.FromMilliseconds(100), _ =>
        {
            Interlocked.Increment(ref steps);
            return Task.CompletedTask;
        });
        follower.Start();
        using var stop = new CancellationTokenSource();
        // A change every 20 ms, five to each quiet period, until the test ends: the pace of the changes, not a wait.
        var changing = Task.Run(async () =>
        {
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            for (var i = 1; await NextTickAsync(pace, stop.Token); i++)
            {
                registry.Upsert(new NamespaceConfig { Name = "a", MaxPayloadBytes = 1000 + i });
            }
        });

        try
        {
            await Eventually.WaitUntilAsync(() => Volatile.Read(ref steps) > 0, TimeSpan.FromSeconds(5), "a step while the changes go on");
            Assert.False(changing.IsCompleted);
        }
        finally
        {
            await stop.CancelAsync();
            await changing;
        }
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer pace, CancellationToken stop)
    {
        try
        {
            return await pace.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task BurstOfChanges_OneStepAfterItsQuietPeriod()
    {
        var registry = new NamespaceRegistry();
        var steps = 0;
        await using var follower = new RegistryFollower(registry, TimeSpan.FromMilliseconds(200), _ =>
        {
            Interlocked.Increment(ref steps);
            return Task.CompletedTask;
        });
        follower.Start();

        for (var i = 0; i < 5; i++)
        {
            registry.Upsert(new NamespaceConfig { Name = $"n{i}" });
        }

        await Eventually.WaitUntilAsync(() => Volatile.Read(ref steps) > 0, TimeSpan.FromSeconds(5), "the step after the burst");
        Assert.Equal(1, Volatile.Read(ref steps));
    }
}
