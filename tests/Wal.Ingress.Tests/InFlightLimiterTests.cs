namespace Wal.Ingress.Tests;

public sealed class InFlightLimiterTests
{
    [Fact]
    public void TryAcquire_UpToEachBound_RefusesBeyondItAndReleaseGivesRoomBack()
    {
        var limiter = new InFlightLimiter(maxTotalBytes: 100);

        Assert.True(limiter.TryAcquire("a", namespaceLimit: 60, bytes: 60));
        Assert.False(limiter.TryAcquire("a", namespaceLimit: 60, bytes: 1));
        Assert.True(limiter.TryAcquire("b", namespaceLimit: 60, bytes: 40));
        Assert.False(limiter.TryAcquire("b", namespaceLimit: 60, bytes: 1));
        Assert.Equal((100, 60, 40), (limiter.TotalBytes, limiter.BytesOf("a"), limiter.BytesOf("b")));

        limiter.Release("a", 60);

        Assert.True(limiter.TryAcquire("b", namespaceLimit: 60, bytes: 20));
        Assert.Equal((60, 0, 60), (limiter.TotalBytes, limiter.BytesOf("a"), limiter.BytesOf("b")));
        Assert.Equal([("a", 0L, 0L), ("b", 2L, 60L)], limiter.ByNamespace().OrderBy(u => u.Namespace));
    }

    [Fact]
    public void Retain_DeletedNamespaceWithAWriteInFlight_KeptUntilReleasedAndANewOneStartsAtZero()
    {
        var limiter = new InFlightLimiter(maxTotalBytes: 100);
        var registry = new Wal.Namespaces.NamespaceRegistry([new Wal.Schemas.V1.NamespaceConfig { Name = "kept" }]);
        Assert.True(limiter.TryAcquire("kept", namespaceLimit: 100, bytes: 5));
        Assert.True(limiter.TryAcquire("gone", namespaceLimit: 100, bytes: 10));
        Assert.True(limiter.TryAcquire("idle", namespaceLimit: 100, bytes: 20));
        limiter.Release("idle", 20);

        limiter.Retain(registry);
        var whileInFlight = limiter.ByNamespace().Select(u => u.Namespace).Order().ToList();
        limiter.Release("gone", 10);
        limiter.Retain(registry);
        var afterRelease = limiter.ByNamespace().Select(u => u.Namespace).ToList();
        Assert.True(limiter.TryAcquire("gone", namespaceLimit: 10, bytes: 10));

        Assert.Equal(["gone", "kept"], whileInFlight);
        Assert.Equal(["kept"], afterRelease);
        Assert.Equal((15, 10), (limiter.TotalBytes, limiter.BytesOf("gone")));
    }

    [Fact]
    public async Task TryAcquire_ManyThreadsAtTheBound_NoCountEverShowsMoreThanItsBound()
    {
        const long total = 10_000;
        const long perNamespace = 6_000;
        const int threads = 4;
        const int rounds = 200_000;
        var limiter = new InFlightLimiter(total);
        using var done = new CancellationTokenSource();
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long maxTotal = 0, maxNamespace = 0;

        // Reads what the gauges read, as often as it can, while writers fight over the last bytes.
        // Threads of their own, so the writers really run at once and are not queued behind each other on the pool.
        var watcher = Dedicated(() =>
        {
            watching.SetResult();
            while (!done.IsCancellationRequested)
            {
                maxTotal = Math.Max(maxTotal, limiter.TotalBytes);
                maxNamespace = Math.Max(maxNamespace, Math.Max(limiter.BytesOf("a"), limiter.BytesOf("b")));
            }
        });
        await watching.Task;
        var writers = Enumerable.Range(0, threads).Select(t => Dedicated(() =>
        {
            var random = new Random(t);
            var name = t % 2 == 0 ? "a" : "b";
            var held = new Queue<long>();
            for (var i = 0; i < rounds; i++)
            {
                var bytes = random.Next(100, 1_500);
                if (limiter.TryAcquire(name, perNamespace, bytes))
                {
                    held.Enqueue(bytes);
                }
                else if (held.Count > 0)
                {
                    limiter.Release(name, held.Dequeue());
                }
            }

            while (held.Count > 0)
            {
                limiter.Release(name, held.Dequeue());
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(2));
        await done.CancelAsync();
        await watcher.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(maxTotal <= total, $"the total showed {maxTotal} bytes");
        Assert.True(maxNamespace <= perNamespace, $"a namespace showed {maxNamespace} bytes");
        Assert.True(maxTotal > total - 1_500, $"the writers never reached the bound (total {maxTotal}, namespace {maxNamespace})");
        Assert.Equal((0L, 0L, 0L), (limiter.TotalBytes, limiter.BytesOf("a"), limiter.BytesOf("b")));
    }

    private static Task Dedicated(Action work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
